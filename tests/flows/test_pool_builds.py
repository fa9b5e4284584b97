"""Builds through the example pool: incremental equals from scratch, a SIGKILL mid-update converges,
a settings change re-processes exactly what it affects, two datasets from one pool, lineage; the pair
store (incremental MinHash pairs, a threshold change, forget, a SIGKILL while pairs are written)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
from collections import Counter
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

from cli.app import make_app
from cli.dataset import COMMANDS
from flows.build_dataset import build_dataset, build_datasets
from schemas.dataset import SPLITS
from schemas.params import DatasetParams, DatasetSpec, SelectParams
from tasks.dataset.pool import CRASH_ENV, PARTS, pool_rows
from tools.synthetic_logs import generate_logs

pytestmark = pytest.mark.usefixtures("prefect_harness")
ROOT = Path(__file__).resolve().parents[2]
FIRST, ALL = 150, 200


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return generate_logs(ALL, seed=23).lines


def _logs(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "logs.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder


def _params(tmp: Path, logs: Path, pool: Path, **update) -> DatasetParams:
    data = DatasetParams().model_dump()
    data.update(logs_dir=str(logs), out_root=str(tmp / "datasets"), name="p", pool=str(pool))
    data["forget"]["deny_list"] = str(tmp / "deny.txt")
    data["decontaminate"]["regression_root"] = str(tmp / "regression")
    for key, value in update.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and key in data and isinstance(data[key], dict) else value
    return DatasetParams.model_validate(data)


def _splits(out: Path) -> dict[str, bytes]:
    return {f"{s}.{ext}": (out / f"{s}.{ext}").read_bytes() for s in SPLITS for ext in ("jsonl", "parquet")}


def test_an_incremental_build_equals_a_build_from_scratch(tmp_path: Path, lines: list[str]) -> None:
    pool = tmp_path / "pool"
    first = build_dataset(params=_params(tmp_path, _logs(tmp_path / "a", lines[:FIRST]), pool), out_dir=str(tmp_path / "o1"))
    assert first.pool.processed == FIRST and first.pool.reused == 0 and first.pool.rows == FIRST
    appended = _logs(tmp_path / "b", lines)  # the same file, 50 lines longer
    again = build_dataset(params=_params(tmp_path, appended, pool), out_dir=str(tmp_path / "o2"))
    assert (again.pool.reused, again.pool.processed, again.pool.written) == (FIRST, ALL - FIRST, ALL - FIRST)
    assert again.pool.redacted <= ALL - FIRST and again.timings["redact"].items == again.pool.redacted
    fresh = build_dataset(params=_params(tmp_path, appended, tmp_path / "fresh"), out_dir=str(tmp_path / "o3"))
    assert fresh.pool.processed == ALL
    assert _splits(tmp_path / "o2") == _splits(tmp_path / "o3")
    for name in ("rejects.jsonl", "lineage.jsonl", "clusters.jsonl"):
        assert (tmp_path / "o2" / name).read_bytes() == (tmp_path / "o3" / name).read_bytes()
    assert again.model_dump(include={"input_lines", "written", "rejected", "filtered", "duplicates", "malformed"}) == (
        fresh.model_dump(include={"input_lines", "written", "rejected", "filtered", "duplicates", "malformed"})
    )
    # the pair store: the rebuild compares only the examples new to the pool, and reuses the others' pairs
    for method in ("minhash", "containment"):  # containment too: taken from the store, not recomputed
        cold, warm, scratch = (b.dedupe_pairs[method] for b in (first, again, fresh))
        assert cold["reused_rows"] == 0 and cold["compared_rows"] > 0
        assert warm["reused_rows"] == cold["compared_rows"]
        assert 0 < warm["compared_rows"] <= ALL - FIRST
        assert scratch["compared_rows"] == warm["compared_rows"] + warm["reused_rows"] and scratch["new_pairs"] > 0
        assert cold["new_pairs"] + warm["new_pairs"] == scratch["new_pairs"]
    from tasks.dataset.pairs import settings_fingerprint, stored_pairs

    fp = settings_fingerprint("containment", _params(tmp_path, appended, pool))
    assert stored_pairs(pool, "containment", fp) == stored_pairs(tmp_path / "fresh", "containment", fp)
    assert (tmp_path / "o2" / "manifest.json").read_bytes().count(b"compared_rows") == 0  # run facts: not in the version


def test_new_lines_processed_ahead_and_joined_reused_batches_equal_a_build_from_scratch(
    tmp_path: Path, lines: list[str], monkeypatch
) -> None:
    """``runner.overlap_from`` 0: the new lines go to two ahead processes; the reused batches are served joined."""
    from schemas.params import RunnerParams
    from tasks.dataset import ahead, prefect_tasks

    if (os.cpu_count() or 1) < 2:
        pytest.skip("the ahead processes need a second core")
    monkeypatch.setattr(prefect_tasks, "BATCH_LINES", 20)  # 150 reused lines: 7 whole batches, then the new lines
    monkeypatch.setattr(ahead, "REUSED_BATCH_LINES", 60)
    monkeypatch.setattr(ahead, "LINES_PER_PROCESS", 20)  # the 50 new lines: 25 in each of two processes
    shares, split = [], ahead.split_evenly
    monkeypatch.setattr(ahead, "split_evenly", lambda lines, n: shares.append(n) or split(lines, n))
    pool = tmp_path / "pool"
    build_dataset(params=_params(tmp_path, _logs(tmp_path / "a", lines[:FIRST]), pool), out_dir=str(tmp_path / "o1"))
    appended = _logs(tmp_path / "b", lines)
    again = build_dataset(params=_params(tmp_path, appended, pool), out_dir=str(tmp_path / "o2"),
                          runner=RunnerParams(overlap_from=0))
    assert (again.pool.reused, again.pool.processed, again.pool.written) == (FIRST, ALL - FIRST, ALL - FIRST)
    assert again.pool.processed_ahead == ALL - FIRST and shares == [2]
    fresh = build_dataset(params=_params(tmp_path, appended, tmp_path / "fresh"), out_dir=str(tmp_path / "o3"))
    assert fresh.pool.processed_ahead == 0  # the default overlap_from: nothing is reused, nothing goes ahead
    assert _splits(tmp_path / "o2") == _splits(tmp_path / "o3")
    for name in ("rejects.jsonl", "lineage.jsonl", "clusters.jsonl"):
        assert (tmp_path / "o2" / name).read_bytes() == (tmp_path / "o3" / name).read_bytes()
    # the ahead task's seconds and items are reported once, with the batch taking its rows
    assert again.timings["redact"].seconds > 0 and again.timings["redact"].items == again.pool.redacted
    assert again.timings["account"].items == ALL and again.timings["parse"].items == ALL - FIRST
    assert pool_rows(pool) == pool_rows(tmp_path / "fresh")


def _children() -> set[int]:
    """The pids of this process's live descendants."""
    import psutil

    return {c.pid for c in psutil.Process().children(recursive=True) if c.is_running() and c.status() != psutil.STATUS_ZOMBIE}


def test_the_ahead_processes_are_closed_when_begin_fails_after_starting_them(tmp_path: Path, lines: list[str]) -> None:
    """An error after the processes start (here: the log call that follows the submits) must not leave them running."""
    from schemas.params import RunnerParams
    from tasks.dataset import ahead
    from tasks.dataset.pool import Pool
    from tasks.dataset.read import find_log_files

    if (os.cpu_count() or 1) < 2:
        pytest.skip("the ahead process needs a second core")
    pool = tmp_path / "pool"
    build_dataset(params=_params(tmp_path, _logs(tmp_path / "a", lines[:FIRST]), pool), out_dir=str(tmp_path / "o1"))
    logs = _logs(tmp_path / "b", lines)
    params = _params(tmp_path, logs, pool)

    class FailingLogger(logging.Logger):
        def info(self, *_args, **_kwargs) -> None:
            raise OSError("the log went away")

    before = _children()
    with pytest.raises(OSError, match="went away"):
        ahead.NewLinesAhead.begin(Pool.open(pool, params), find_log_files(logs), logs, params, frozenset(),
                                  RunnerParams(overlap_from=0), "threads", ALL, FailingLogger("failing"))
    assert _children() - before == set()


def test_a_rebuild_of_unchanged_logs_starts_no_ahead_process(tmp_path: Path, lines: list[str]) -> None:
    """The pass for new lines runs first; when it finds none, no process is spawned (it cost 4-5 s of a 11 s rebuild)."""
    from schemas.params import RunnerParams
    from tasks.dataset import ahead
    from tasks.dataset.pool import Pool
    from tasks.dataset.read import find_log_files

    if (os.cpu_count() or 1) < 2:
        pytest.skip("the ahead processes need a second core")
    pool, logs = tmp_path / "pool", _logs(tmp_path / "a", lines)
    params = _params(tmp_path, logs, pool)
    build_dataset(params=params, out_dir=str(tmp_path / "o1"))
    before = _children()
    with ahead.NewLinesAhead.begin(Pool.open(pool, params), find_log_files(logs), logs, params, frozenset(),
                                   RunnerParams(overlap_from=0), "threads", ALL) as begun:
        assert begun.lines == 0 and _children() - before == set()


def test_a_threshold_change_recomputes_that_methods_pairs_and_forget_removes_pairs(tmp_path: Path, lines: list[str]) -> None:
    from tasks.dataset.pairs import compared_ids, settings_fingerprint, stored_pairs
    from tasks.dataset.pool import forget_user

    pool, logs = tmp_path / "pool", _logs(tmp_path / "a", lines)
    base = build_dataset(params=_params(tmp_path, logs, pool), out_dir=str(tmp_path / "o1"))
    again = build_dataset(params=_params(tmp_path, logs, pool), out_dir=str(tmp_path / "o2"))
    assert again.dedupe_pairs["minhash"]["compared_rows"] == 0 and again.dedupe_pairs["containment"]["compared_rows"] == 0
    assert again.dedupe_pairs["minhash"]["reused_rows"] == base.dedupe_pairs["minhash"]["compared_rows"]
    looser = _params(tmp_path, logs, pool, dedupe={"threshold": 0.5})
    changed = build_dataset(params=looser, out_dir=str(tmp_path / "o3"))
    assert changed.dedupe_pairs["minhash"]["compared_rows"] == base.dedupe_pairs["minhash"]["compared_rows"]
    assert changed.dedupe_pairs["minhash"]["reused_rows"] == 0 and changed.pool.processed == 0
    assert changed.dedupe_pairs["minhash"]["new_pairs"] >= base.dedupe_pairs["minhash"]["new_pairs"]
    assert changed.dedupe_pairs["containment"]["compared_rows"] == 0  # another method's setting: containment reused
    contained = build_dataset(params=_params(tmp_path, logs, pool, dedupe={"containment_threshold": 0.6}), out_dir=str(tmp_path / "o4"))
    assert contained.dedupe_pairs["containment"]["compared_rows"] == base.dedupe_pairs["containment"]["compared_rows"]
    assert contained.dedupe_pairs["minhash"]["compared_rows"] == 0 and contained.pool.processed == 0
    # forget: the user's examples leave the pair store under every setting
    params = _params(tmp_path, logs, pool)
    fp = settings_fingerprint("minhash", params)
    pairs = stored_pairs(pool, "minhash", fp)
    rows = [r for p in sorted((pool / PARTS).glob("part-*.parquet")) for r in pq.read_table(
        p, columns=["user_hash", "example_id"]).to_pylist() if r["example_id"]]
    paired = {e for pair in pairs for e in pair}
    user = next(r["user_hash"] for r in rows if r["example_id"] in paired and r["user_hash"])
    theirs = {r["example_id"] for r in rows if r["user_hash"] == user}
    assert forget_user(pool, user) > 0
    for setting in (fp, settings_fingerprint("minhash", looser)):
        assert not theirs & {e for pair in stored_pairs(pool, "minhash", setting) for e in pair}
        assert not theirs & compared_ids(pool, "minhash", setting)
    assert stored_pairs(pool, "minhash", fp) == {p for p in pairs if not theirs & set(p)}
    for setting in (settings_fingerprint("containment", params), settings_fingerprint("containment", _params(
            tmp_path, logs, pool, dedupe={"containment_threshold": 0.6}))):
        assert not theirs & {e for pair in stored_pairs(pool, "containment", setting) for e in pair}
        assert not theirs & compared_ids(pool, "containment", setting)


_SMALL_BATCHES = (
    "import sys, tasks.dataset.prefect_tasks as s; s.BATCH_LINES = 40\n"
    "from cli.app import make_app; from cli.dataset import COMMANDS; make_app(COMMANDS)()\n"
)


def _cli_build(tmp: Path, logs: Path, pool: Path, out: Path, crash: str | None = None) -> subprocess.CompletedProcess:
    """``build-dataset --json`` in a fresh process, 40 lines a batch (so a pool update writes several parts)."""
    params_file = tmp / f"params-{pool.name}.yaml"
    params = _params(tmp, logs, pool)
    section = {"logs_dir": params.logs_dir, "out_root": params.out_root, "pool": str(pool),
               "forget": {"deny_list": params.forget.deny_list},
               "decontaminate": {"regression_root": params.decontaminate.regression_root}}
    params_file.write_text(yaml.safe_dump({"dataset": section}), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()  # the test server: a killed build leaves no server of its own behind
    command = [sys.executable, "-c", _SMALL_BATCHES, "build-dataset", "--params", str(params_file), "--out", str(out), "--json"]
    process = subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything the build started and left behind
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_a_sigkill_during_a_pool_update_then_a_rerun_equals_a_clean_run(tmp_path: Path, lines: list[str]) -> None:
    """SIGKILL while the third part is written (after two were committed, before its rename)."""
    logs, pool = _logs(tmp_path / "logs", lines[:FIRST]), tmp_path / "pool"
    killed = _cli_build(tmp_path, logs, pool, tmp_path / "out", crash="before-rename:3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "out").exists()  # nothing published
    parts = sorted((pool / PARTS).glob("part-*.parquet"))
    assert len(parts) == 2 and list((pool / PARTS).glob(".part-*.tmp"))  # two whole parts and a torn temporary
    assert pool_rows(pool) == sum(pq.read_table(p).num_rows for p in parts) == 80
    rerun = _cli_build(tmp_path, logs, pool, tmp_path / "out")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout)["pool"]
    assert (report["reused"], report["processed"]) == (80, FIRST - 80)
    assert not list((pool / PARTS).glob(".part-*.tmp")) and pool_rows(pool) == FIRST
    # a SIGKILL while the pair store is written (the pool complete), then a rerun
    shutil.rmtree(tmp_path / "out")
    for leftover in (pool / "pairs").glob("pairs-*.parquet"):
        leftover.unlink()
    killed = _cli_build(tmp_path, logs, pool, tmp_path / "out", crash="pairs-before-rename:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "out").exists() and not list((pool / "pairs").glob("pairs-*.parquet"))
    assert list((pool / "pairs").glob(".pairs-*.tmp"))
    rerun = _cli_build(tmp_path, logs, pool, tmp_path / "out")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout)["dedupe_pairs"]["minhash"]["reused_rows"] == 0
    assert not list((pool / "pairs").glob(".pairs-*.tmp"))
    clean = _cli_build(tmp_path, logs, tmp_path / "clean-pool", tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert _splits(tmp_path / "out") == _splits(tmp_path / "clean")
    assert (tmp_path / "out" / "rejects.jsonl").read_bytes() == (tmp_path / "clean" / "rejects.jsonl").read_bytes()


def test_a_redaction_change_reprocesses_exactly_the_redacted_rows(tmp_path: Path, lines: list[str]) -> None:
    """Malformed, schema-invalid and validation-failing lines never reach redaction: they are reused."""
    logs, pool = _logs(tmp_path / "logs", lines[:FIRST]), tmp_path / "pool"
    first = build_dataset(params=_params(tmp_path, logs, pool), out_dir=str(tmp_path / "o1"))
    assert 0 < first.pool.redacted < first.pool.processed == FIRST
    changed = {"entities": ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"]}
    again = build_dataset(params=_params(tmp_path, logs, pool, redact=changed), out_dir=str(tmp_path / "o2"))
    assert (again.pool.processed, again.pool.redacted) == (first.pool.redacted, first.pool.redacted)
    assert again.pool.reused == FIRST - first.pool.redacted
    fresh = build_dataset(params=_params(tmp_path, logs, tmp_path / "fresh", redact=changed), out_dir=str(tmp_path / "o3"))
    assert _splits(tmp_path / "o2") == _splits(tmp_path / "o3") != _splits(tmp_path / "o1")
    back = build_dataset(params=_params(tmp_path, logs, pool), out_dir=str(tmp_path / "o4"))
    assert back.pool.processed == 0 and _splits(tmp_path / "o4") == _splits(tmp_path / "o1")  # the old rows are still there


def test_two_datasets_from_one_pool_update(tmp_path: Path, lines: list[str]) -> None:
    logs, pool = _logs(tmp_path / "logs", lines[:FIRST]), tmp_path / "pool"
    base = _params(tmp_path, logs, pool)
    categories = sorted({json.loads(x).get("category") for x in lines[:FIRST] if x.startswith("{") and '"category"' in x} - {None})
    section = {
        "logs_dir": str(logs), "out_root": base.out_root, "pool": str(pool),
        "forget": {"deny_list": base.forget.deny_list},
        "decontaminate": {"regression_root": base.decontaminate.regression_root},
        "datasets": {
            "narrow": {"select": {"categories": categories[:1]}},
            "wide": {"split": {"train": 0.6, "val": 0.2, "test": 0.2}},
        },
    }
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({"dataset": section}), encoding="utf-8")
    result = CliRunner().invoke(make_app(COMMANDS), ["build-dataset", "--params", str(params_file), "--json"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)["datasets"]
    assert sorted(built) == ["narrow", "wide"]
    assert built["narrow"]["pool"]["processed"] == FIRST and built["wide"]["pool"]["processed"] == 0  # one pool update
    assert built["wide"]["pool"]["reused"] == FIRST
    narrow, wide = (Path(built[n]["out_dir"]) for n in ("narrow", "wide"))
    assert narrow == Path(base.out_root) / "narrow" and (narrow / "data_card.html").exists()
    rows = [json.loads(x) for s in SPLITS for x in (narrow / f"{s}.jsonl").read_text().splitlines()]
    assert 0 < len(rows) < built["wide"]["written"]
    assert {r["category"] for r in pq.read_table(narrow / "train.parquet").to_pylist()} <= {categories[0]}
    assert built["narrow"]["filtered"] > built["wide"]["filtered"]
    wide_manifest = json.loads((wide / "manifest.json").read_text())
    assert wide_manifest["split_report"]["targets"] == {"train": 0.6, "val": 0.2, "test": 0.2}

    example = json.loads((narrow / "lineage.jsonl").read_text().splitlines()[0])
    shown = CliRunner().invoke(make_app(COMMANDS), ["lineage", example["example_id"], "--params", str(params_file), "--json"])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.stdout)
    assert any(v["name"] == "narrow" and v["version"] == built["narrow"]["version"] for v in found["versions"])
    raw = found["raw"][0]
    assert raw["present"] and json.loads(raw["content"])["request_id"] == example["request_id"]
    assert found["rows"][0]["example_id"] == example["example_id"] and found["rows"][0]["outcome"] == "ok"
    by_request = CliRunner().invoke(
        make_app(COMMANDS), ["lineage", "--request-id", example["request_id"], "--params", str(params_file), "--json"]
    )
    assert by_request.exit_code == 0 and json.loads(by_request.stdout)["rows"][0]["request_id"] == example["request_id"]


_FRENCH = [
    ("Bonjour, je n'arrive pas à modifier l'adresse de livraison de ma commande numéro {n}.",
     "Vous pouvez la modifier depuis la page de suivi de la commande, tant qu'elle n'est pas expédiée."),
    ("Pourquoi ma facture du mois {n} est-elle plus élevée que d'habitude ?",
     "La hausse vient des frais de dépassement de forfait : le détail figure à la deuxième page de la facture."),
]


def _json_or_none(line: str) -> object:
    with contextlib.suppress(ValueError):
        return json.loads(line)
    return None


def test_datasets_select_by_language_and_cap_each_user(tmp_path: Path, lines: list[str]) -> None:
    """A language selection keeps the French conversations only; max_per_user keeps each user's best N."""
    records = [r for r in map(_json_or_none, lines[:FIRST]) if isinstance(r, dict) and r.get("request_id")]
    records = [r for r in records if isinstance(r.get("user_message"), str) and isinstance(r.get("response"), str)]
    for n, record in enumerate(records[:12]):  # distinct texts: dedupe keeps them all
        question, answer = _FRENCH[n % 2]
        record.update(user_message=question.format(n=n + 3), response=answer + f" (dossier {n * 7919})",
                      conversation_history=[], system_prompt="")
    heavy = records[20:40]
    for record in heavy:
        record["user_id"] = "heavy-user"
    logs = _logs(tmp_path / "logs", [json.dumps(r) for r in records])
    base = _params(tmp_path, logs, tmp_path / "pool")
    section = {
        "logs_dir": str(logs), "out_root": base.out_root, "pool": str(tmp_path / "pool"),
        "forget": {"deny_list": base.forget.deny_list},
        "decontaminate": {"regression_root": base.decontaminate.regression_root},
        "datasets": {"fr": {"select": {"languages": ["fr"]}}, "capped": {"select": {"max_per_user": 3}},
                     "all": {}},
    }
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({"dataset": section}), encoding="utf-8")
    result = CliRunner().invoke(make_app(COMMANDS), ["build-dataset", "--params", str(params_file), "--json"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)["datasets"]

    def rows(name: str) -> list[dict]:
        return [r for s in SPLITS for r in pq.read_table(Path(built[name]["out_dir"]) / f"{s}.parquet").to_pylist()]

    planted = {r["request_id"] for r in records[:12]}
    french_in_all = {r["request_id"] for r in rows("all") if r["language"] == "fr"}
    assert len(french_in_all) >= 2 and french_in_all <= planted  # no English conversation taken for French
    assert {r["request_id"] for r in rows("fr")} == french_in_all
    assert "en" in {r["language"] for r in rows("all")}
    heavy_ids = {r["request_id"] for r in heavy}
    everything = [r for r in rows("all") if r["request_id"] in heavy_ids]
    capped = [r for r in rows("capped") if r["request_id"] in heavy_ids]
    assert len(everything) > 3 and len(capped) == 3
    best = sorted(everything, key=lambda r: -(r["quality_score"] if r["quality_score"] is not None else float("-inf")))
    assert sorted(r["quality_score"] or 0 for r in capped) == sorted(r["quality_score"] or 0 for r in best[:3])
    user_of = {r["request_id"]: r.get("user_id") for r in records}
    per_user = Counter(user_of[r["request_id"]] for r in rows("all") if user_of[r["request_id"]] is not None)
    over = sum(max(n - 3, 0) for n in per_user.values())
    assert max(Counter(user_of[r["request_id"]] for r in rows("capped") if user_of[r["request_id"]]).values()) == 3
    manifest = json.loads((Path(built["capped"]["out_dir"]) / "manifest.json").read_text())
    assert manifest["reasons"]["filtered"]["max_per_user"] == over
    assert built["capped"]["written"] == built["all"]["written"] - over
    stage = next(s for s in manifest["stages"] if s["stage"] == "user_cap")
    assert stage["total"] - stage["kept"] == over
    capped_rejects = [json.loads(x) for x in (Path(built["capped"]["out_dir"]) / "rejects.jsonl").read_text().splitlines()]
    assert sum(1 for r in capped_rejects if r["reason"] == "max_per_user" and r["kind"] == "filtered") == over


def test_the_deployed_flow_builds_every_dataset_from_one_pool_update(tmp_path: Path, lines: list[str]) -> None:
    logs, pool = _logs(tmp_path / "logs", lines[:FIRST]), tmp_path / "pool"
    params = _params(tmp_path, logs, pool).model_copy(
        update={"datasets": {"one": DatasetSpec(), "two": DatasetSpec(select=SelectParams(max_per_user=1))}}
    )
    built = build_datasets(params=params)
    assert sorted(built) == ["one", "two"]
    assert (built["one"].pool.processed, built["two"].pool.processed) == (FIRST, 0)
    assert built["two"].written < built["one"].written
    assert {Path(s.out_dir).name for s in built.values()} == {"one", "two"}
    with pytest.raises(KeyError, match="no dataset 'three'"):
        build_datasets(params=params, names=["one", "three"])
