"""The dataset flow end to end: accounting, no PII out, stable split, no leakage, forget, CLI, DVC."""

from __future__ import annotations

import itertools
import re
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from datasketch import MinHash
from typer.testing import CliRunner

from flows.build_dataset import build_dataset
from cli.app import make_app
from cli.dataset import COMMANDS
from schemas.dataset import SPLITS, DatasetManifest
from schemas.params import DatasetParams, RunnerParams, load_params
from tasks.dataset.dedupe import shingles
from tasks.dataset.select import user_hash
from tools.synthetic_logs import SyntheticCorpus, generate_logs, write_logs
from tasks.dataset.version import ENTRY_MODULE, STAGE, dvc_stage
from tools.dvc_deps import reachable_files
from tests.documents import folder_bytes

pytestmark = pytest.mark.usefixtures("prefect_harness")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, corpus: SyntheticCorpus) -> Path:
    root = tmp_path_factory.mktemp("ws")
    write_logs(corpus, root / "logs", files=2)
    return root


def _params(ws: Path, **update) -> DatasetParams:
    data = DatasetParams().model_dump()
    data.update(logs_dir=str(ws / "logs"), out_root=str(ws / "datasets"), name="t")
    data["forget"]["deny_list"] = str(ws / "deny.txt")
    data["decontaminate"]["regression_root"] = str(ws / "regression")
    data.update(update)
    return DatasetParams.model_validate(data)


@pytest.fixture(scope="module")
def built(workspace: Path):
    params = _params(workspace)
    summary = build_dataset(params=params)
    return params, summary, Path(summary.out_dir)


def _manifest(out: Path) -> DatasetManifest:
    return DatasetManifest.model_validate_json((out / "manifest.json").read_text())


def _split_rows(out: Path) -> dict[str, list[dict]]:
    return {s: [json.loads(x) for x in (out / f"{s}.jsonl").read_text().splitlines()] for s in SPLITS}


def test_every_input_line_is_accounted_for(built, corpus: SyntheticCorpus) -> None:
    _, summary, out = built
    parts = summary.written + summary.rejected + summary.filtered + summary.duplicates + summary.malformed
    assert summary.input_lines == parts == len(corpus.lines) + 1  # +1: the corrupted gzip member
    assert min(summary.malformed, summary.rejected, summary.filtered, summary.duplicates) > 0
    rejects = [json.loads(x) for x in (out / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) + summary.written == summary.input_lines
    assert {r["kind"] for r in rejects} == {"malformed", "rejected", "filtered", "duplicate"}
    assert all(r["reason"] and r["source"] and r["line"] >= 1 for r in rejects)
    assert sum(summary.splits.values()) == summary.written
    manifest = _manifest(out)
    assert manifest.counts.balanced and manifest.version == summary.version
    assert {r.stage: r.kept for r in manifest.stages}["dedupe"] == summary.written
    assert sum(manifest.reasons["malformed"].values()) == summary.malformed


def test_run_page_shows_stage_timings_and_the_rejected_lines(built) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    _, summary, out = built
    stages = {r.stage: r for r in _manifest(out).stages}
    assert list(summary.timings) == ["parse", "validate", "redact", "minhash", "account", "decontaminate", "dedupe-and-split", "write"]
    processed = summary.pool.processed + summary.pool.forgotten  # every decoded line: a cold build reuses none
    assert summary.timings["parse"].items == summary.timings["account"].items == processed
    # the pool keeps every line processed, whatever the selection: redaction handles more than this dataset keeps
    assert summary.timings["redact"].items == summary.pool.redacted > stages["redact"].total == stages["validate"].kept
    assert summary.timings["write"].items == summary.written and summary.timings["redact"].seconds > 0
    with get_client(sync_client=True) as client:
        keys = ArtifactCollectionFilterKey(any_=["dataset-t", "dataset-t-rejects"])
        artifacts = {a.key: a for a in client.read_latest_artifacts(artifact_filter=ArtifactCollectionFilter(key=keys))}
    rows = json.loads(artifacts["dataset-t-rejects"].data)
    rejects = [json.loads(x) for x in (out / "rejects.jsonl").read_text().splitlines()]
    assert rows == [{k: r.get(k) for k in ("source", "line", "stage", "kind", "reason", "message")} for r in rejects[:200]]
    assert "| redact |" in artifacts["dataset-t"].data and summary.version in artifacts["dataset-t"].data


def test_outputs_are_openai_chat_and_parquet(built) -> None:
    _, summary, out = built
    rows = _split_rows(out)
    for split in SPLITS:
        assert len(rows[split]) == summary.splits[split]
        table = pq.read_table(out / f"{split}.parquet")
        assert table.num_rows == summary.splits[split]
        assert table.column_names[:4] == ["example_id", "split", "category", "messages"]
    for row in itertools.chain(*rows.values()):
        assert set(row) <= {"messages", "tools"} and row["messages"][-1]["role"] == "assistant"
    assert "<svg" in (out / "data_card.html").read_text()


def test_no_planted_pii_in_any_output(built, corpus: SyntheticCorpus) -> None:
    _, summary, out = built
    texts = {p.name: p.read_text(errors="replace") for p in out.iterdir() if p.suffix in (".jsonl", ".json", ".html")}
    for split in SPLITS:
        texts[f"{split}.parquet"] = json.dumps(pq.read_table(out / f"{split}.parquet").to_pylist())
    texts["summary"] = summary.model_dump_json()
    values = {v.value for v in corpus.planted_pii}
    assert len(values) > 50
    leaks = {(name, v) for name, text in texts.items() for v in values if v.lower() in text.lower()}
    assert not leaks
    assert "<PERSON_1>" in texts["train.jsonl"] and "<EMAIL_ADDRESS_1>" in texts["train.jsonl"]


def test_no_near_duplicate_pair_across_splits(built) -> None:
    params, summary, out = built
    assert summary.duplicates > 0
    examples = [
        (s, "\n".join(f"{m['role']}: {m.get('content') or ''}" for m in r["messages"] if m["role"] != "system"))
        for s, rows in _split_rows(out).items()
        for r in rows
    ]
    signatures = []
    for _, text in examples:  # an independent path: datasketch's default SHA-1 hashing, all pairs compared
        m = MinHash(num_perm=128)
        m.update_batch(shingles(text, params.dedupe.shingle_size))
        signatures.append(m)
    crossing = [
        (i, j)
        for i, j in itertools.combinations(range(len(examples)), 2)
        if examples[i][0] != examples[j][0] and signatures[i].jaccard(signatures[j]) >= params.dedupe.threshold
    ]
    assert crossing == []
    assert _manifest(out).leakage.clean and _manifest(out).split_report.groups_straddling == 0


def test_split_is_stable_when_logs_are_appended(built, workspace: Path) -> None:
    params, _, out = built
    before = {
        json.loads(x)["example_id"]: json.loads(x)["split"] for x in (out / "lineage.jsonl").read_text().splitlines()
    }
    more = workspace / "logs_more"
    shutil.copytree(workspace / "logs", more)
    extra = generate_logs(120, seed=99, users=60)
    (more / "later.jsonl").write_text("\n".join(line.replace('"req-', '"late-') for line in extra.lines) + "\n")
    summary = build_dataset(params=_params(workspace, logs_dir=str(more), name="t2"))
    after = {
        json.loads(x)["example_id"]: json.loads(x)["split"]
        for x in (Path(summary.out_dir) / "lineage.jsonl").read_text().splitlines()
    }
    common = before.keys() & after.keys()
    assert summary.written > len(before) and len(common) >= 0.95 * len(before)
    assert {k: before[k] for k in common} == {k: after[k] for k in common}


def test_lineage_rows_name_each_written_example_and_where_it_came_from(built) -> None:
    """``lineage.jsonl``: one row a written example, its split, and its ``Lineage`` fields as the parquet split holds them."""
    from schemas.dataset import Lineage

    _, summary, out = built
    rows = [json.loads(x) for x in (out / "lineage.jsonl").read_text().splitlines()]
    assert len(rows) == summary.written and [r["example_id"] for r in rows] == sorted(r["example_id"] for r in rows)
    written = {}
    for split in SPLITS:
        for record in pq.read_table(out / f"{split}.parquet").to_pylist():
            written[record["example_id"]] = (split, record["request_id"], record["source"], record["line"])
    for row in rows:
        assert set(row) == {"example_id", "split", *Lineage.model_fields}
        Lineage.model_validate({k: row[k] for k in Lineage.model_fields})
        assert written[row["example_id"]] == (row["split"], row["request_id"], row["source"], row["line"])


def test_forget_a_user(built, workspace: Path, tmp_path: Path) -> None:
    params, summary, out = built
    lineage = [json.loads(x) for x in (out / "lineage.jsonl").read_text().splitlines()]
    logs = {
        json.loads(x)["request_id"]: json.loads(x)
        for f in sorted((workspace / "logs").glob("*.jsonl"))
        for x in f.read_text().splitlines()
        if x.strip().startswith("{") and '"request_id"' in x and x.strip().endswith("}")
    }
    user = next(logs[r["request_id"]]["user_id"] for r in lineage if logs.get(r["request_id"], {}).get("user_id"))
    params_file = tmp_path / "params.yaml"
    serving = {"cache": {"path": str(tmp_path / "cache.sqlite3")}, "regression": {"out_root": str(tmp_path / "regression")}}
    params_file.write_text(yaml.safe_dump({"dataset": params.model_dump(mode="json"), "serving": serving}))
    app = make_app(COMMANDS)
    result = CliRunner().invoke(app, ["forget", "--user-id", user, "--json", "--params", str(params_file)])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["deny_list"] and {"name": "t", "version": summary.version} in outcome["versions"]
    assert user not in (workspace / "deny.txt").read_text()
    again = build_dataset(params=_params(workspace, name="t3"))
    manifest = _manifest(Path(again.out_dir))
    assert user_hash(user, params.forget.user_hash_salt) not in manifest.user_hashes
    assert manifest.reasons["filtered"]["forgotten_user"] >= 1
    assert again.written < summary.written and again.input_lines == summary.input_lines
    (workspace / "deny.txt").unlink()


def test_build_dataset_command_prints_only_json(workspace: Path, tmp_path: Path) -> None:
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({"dataset": _params(workspace).model_dump(mode="json")}))
    app = make_app(COMMANDS)
    out = tmp_path / "custom-out"
    result = CliRunner().invoke(
        app,
        [
            "build-dataset",
            "--logs",
            str(workspace / "logs"),
            "--name",
            "cli",
            "--out",
            str(out),
            "--json",
            "--params",
            str(params_file),
        ],
    )
    assert result.exit_code == 0, result.output
    [line] = result.stdout.strip().splitlines()
    summary = json.loads(line)
    assert {
        "version",
        "input_lines",
        "written",
        "rejected",
        "filtered",
        "duplicates",
        "malformed",
        "train",
        "val",
        "test",
    } <= set(summary)
    assert summary["input_lines"] == sum(
        summary[k] for k in ("written", "rejected", "filtered", "duplicates", "malformed")
    )
    assert (out / "manifest.json").exists() and summary["out_dir"] == str(out)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
def test_dvc_repro_twice_is_a_no_op_and_rebuilds_byte_identical(tmp_path: Path, corpus: SyntheticCorpus) -> None:
    from prefect.settings import PREFECT_API_URL

    repo = tmp_path / "repo"
    for folder in ("cli", "flows", "tasks", "tools", "schemas"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "params.yaml", repo / "params.yaml")
    params = load_params(DatasetParams, path=repo / "params.yaml")
    write_logs(generate_logs(120, seed=3), repo / params.logs_dir, files=2)
    (repo / params.forget.deny_list).parent.mkdir(parents=True, exist_ok=True)
    (repo / params.forget.deny_list).write_text("")
    (repo / params.decontaminate.regression_root).mkdir(parents=True)  # deps of the stage: the evaluation sets
    for retrieval_set in params.decontaminate.retrieval_sets:
        (repo / retrieval_set).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / retrieval_set, repo / retrieval_set)
    (repo / "dvc.yaml").write_text(
        yaml.safe_dump({"stages": {STAGE: dvc_stage(params, reachable_files(repo, ENTRY_MODULE))}}, sort_keys=False)
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTHONPATH", None)
    dvc = [sys.executable, "-m", "dvc"]
    _run(["git", "init", "-q"], repo, env)
    _run(["git", "config", "user.email", "test@example.com"], repo, env)
    _run(["git", "config", "user.name", "test"], repo, env)
    _run([*dvc, "init", "-q"], repo, env)
    _run([*dvc, "remote", "add", "-d", "local", str(tmp_path / "remote")], repo, env)
    _run([*dvc, "repro"], repo, env)
    out = repo / params.out_root / params.name
    first = folder_bytes(out)
    assert {"train.jsonl", "val.parquet", "manifest.json", "data_card.html", "rejects.jsonl"} <= set(first)
    second = _run([*dvc, "repro"], repo, env)
    assert "didn't change" in second or "up to date" in second
    assert folder_bytes(out) == first
    _run([*dvc, "repro", "--force"], repo, env)
    assert folder_bytes(out) == first
    _run([*dvc, "push"], repo, env)
    assert any((tmp_path / "remote").rglob("*"))


def test_a_failed_batch_fails_the_build_without_publishing_or_quoting_the_logs(
    workspace: Path, tmp_path: Path, monkeypatch
) -> None:
    """A batch task that dies (a worker lost, a bug) must not publish a dataset missing its lines, and its
    error must not carry the exception's text, which may quote a log line."""
    from tasks.dataset import prefect_tasks as stages

    out = tmp_path / "out"
    first = build_dataset(params=_params(workspace), out_dir=str(out), runner=RunnerParams(kind="threads"))
    before = folder_bytes(out)
    real, calls = stages.prepare_lines, []

    def dies_on_the_second_batch(lines, params, deny_list, *rest):
        calls.append(lines)
        if len(calls) == 2:
            raise ValueError("input_value='call me at +44 20 7946 0958'")
        return real(lines, params, deny_list, *rest)

    from tasks.dataset import ahead

    monkeypatch.setattr(stages, "BATCH_LINES", 50)
    monkeypatch.setattr(ahead, "REUSED_BATCH_LINES", 50)  # the pool serves every line: keep the batches apart
    monkeypatch.setattr(stages, "prepare_lines", dies_on_the_second_batch)
    state = build_dataset(
        params=_params(workspace), out_dir=str(out), runner=RunnerParams(kind="threads"), return_state=True
    )
    assert state.is_failed() and len(calls) > 3
    message = state.message or ""
    lost = calls[1]
    assert "1 batch(es)" in message and f"{lost[0].source}:{lost[0].line}" in message and "ValueError" in message
    assert "7946" not in message
    assert folder_bytes(out) == before and first.version in (out / "manifest.json").read_text()


def _rewrite_logs(corpus: SyntheticCorpus, folder: Path, change) -> None:
    """The corpus's lines with ``change(record, n)`` applied to each JSON object (bad lines kept as they are)."""
    folder.mkdir(parents=True)
    lines = []
    for n, line in enumerate(corpus.lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            lines.append(line)
            continue
        lines.append(json.dumps(change(record, n)) if isinstance(record, dict) else line)
    (folder / "logs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_logs_with_null_telemetry_build_normally(workspace: Path, tmp_path: Path, corpus: SyntheticCorpus) -> None:
    """Regression: an export whose full_prompt and total_latency_ms were null rejected every line as
    schema_invalid and published an empty dataset with exit code 0."""
    telemetry = ("full_prompt", "total_latency_ms", "prompt_token_count", "completion_token_count", "llm_latency_ms")

    def strip(record: dict, n: int) -> dict:
        for name in telemetry:  # half null, half missing
            if n % 2:
                record[name] = None
            else:
                record.pop(name, None)
        return record

    logs = tmp_path / "logs"
    _rewrite_logs(corpus, logs, strip)
    reference = tmp_path / "reference"
    _rewrite_logs(corpus, reference, lambda record, n: record)
    stripped = build_dataset(params=_params(tmp_path, logs_dir=str(logs)), out_dir=str(tmp_path / "a"))
    full = build_dataset(params=_params(tmp_path, logs_dir=str(reference)), out_dir=str(tmp_path / "b"))
    assert stripped.written == full.written > 0
    assert stripped.rejected == full.rejected
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()


def test_a_drifted_export_fails_without_publishing_and_names_the_field(
    workspace: Path, tmp_path: Path, corpus: SyntheticCorpus
) -> None:
    """Most lines fail one field (a producer started logging the timestamp as epoch seconds)."""
    out = tmp_path / "out"
    build_dataset(params=_params(workspace), out_dir=str(out))
    before = folder_bytes(out)
    logs = tmp_path / "logs"

    def epoch(record: dict, n: int) -> dict:
        return {**record, "timestamp": 1764547200 + n} if n % 4 else record

    _rewrite_logs(corpus, logs, epoch)
    state = build_dataset(params=_params(tmp_path, logs_dir=str(logs)), out_dir=str(out), return_state=True)
    assert state.is_failed()
    message = state.message or ""
    assert "schema_invalid" in message and "'timestamp'" in message and re.search(r"e\.g\. logs\.jsonl:\d+", message)
    assert folder_bytes(out) == before


def test_a_planted_golden_set_copy_is_dropped_and_reported(built, workspace: Path, tmp_path: Path) -> None:
    """An example that copies a golden-set case (exactly, or lightly edited) never reaches train/val/test."""
    _, summary, out = built
    rows = [r for s in SPLITS for r in _split_rows(out)[s]]
    exact, near = rows[0], next(r for r in rows[1:] if len(r["messages"][-2]["content"].split()) > 12)

    def case(row: dict, edit: str = "") -> dict:
        messages = [m for m in row["messages"] if m["role"] != "assistant"]
        messages[-1] = {**messages[-1], "content": messages[-1]["content"] + edit}
        return {"id": "c", "messages": messages, "expected_output": row["messages"][-1]["content"] + edit}

    golden = tmp_path / "regression" / "Golden"
    golden.mkdir(parents=True)
    (golden / "cases.jsonl").write_text(json.dumps(case(exact)) + "\n" + json.dumps(case(near, " please")) + "\n")
    params = _params(workspace, out_root=str(tmp_path / "datasets"))
    params = params.model_copy(update={"decontaminate": params.decontaminate.model_copy(
        update={"regression_root": str(tmp_path / "regression")})})
    clean = build_dataset(params=params)
    written = {json.dumps(r, sort_keys=True) for s in SPLITS for r in _split_rows(Path(clean.out_dir))[s]}
    assert json.dumps(exact, sort_keys=True) not in written and json.dumps(near, sort_keys=True) not in written
    assert clean.written == summary.written - 2 and clean.duplicates == summary.duplicates + 2
    manifest = _manifest(Path(clean.out_dir))
    assert manifest.reasons["duplicate"]["contaminates_golden"] == 2
    assert manifest.contamination["golden"] == 4  # two cases, each whole and its user turns
    stage = next(s for s in manifest.stages if s.stage == "decontaminate")
    assert stage.dropped == {"contaminates_golden": 2}
    rejects = [json.loads(x) for x in (Path(clean.out_dir) / "rejects.jsonl").read_text().splitlines()]
    assert sum(r["reason"] == "contaminates_golden" for r in rejects) == 2
