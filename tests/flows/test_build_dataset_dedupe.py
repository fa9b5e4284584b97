"""Dedupe methods inside the build: containment and semantic drops, switches, semantic decontamination,
incremental equals from scratch with semantic on, and a model change that re-embeds without re-redacting.

Real presidio, real embedding model (all-MiniLM-L6-v2 from its package), real parquet pool. The planted
texts' scores were measured with that model: the paraphrase pair has a cosine of 0.97 (Jaccard 0.39,
containment 0.52), the independent text on the same topic 0.17, the excerpt a containment of 0.95
(Jaccard 0.58), the golden-set paraphrase a cosine of 0.99 (Jaccard 0.30).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.build_dataset import build_dataset
from schemas.dataset import SPLITS, DatasetManifest
from schemas.params import DatasetParams
from tasks.dataset.pool import PARTS
from tools.synthetic_logs import generate_logs

pytestmark = pytest.mark.usefixtures("prefect_harness")
GENERATED = 40
SEMANTIC = ["exact", "minhash", "containment", "semantic"]

MIGRATE = (
    "How can I move our reporting database from the old cluster to the new region without losing the nightly exports?",
    "Take a snapshot of the reporting database, restore it in the new region, then point the nightly export job at the "
    "new endpoint before you switch traffic.",
)
MIGRATE_EDITED = (
    "How do I migrate our reporting database from the old cluster into a new region and keep the nightly exports?",
    "Snapshot the reporting database, restore it in the new region, then point the nightly export job to the new "
    "endpoint before switching traffic over.",
)
MIGRATE_INDEPENDENT = (
    "We want to relocate our analytics warehouse to another region; what should we watch out for?",
    "Plan a maintenance window, replicate the warehouse to the target region, check that scheduled jobs and "
    "credentials still work there, and keep the old copy until you have verified the data.",
)
WORKBOOK = (
    "Our team keeps the quarterly planning workbook in the shared drive and every department edits its own tab. "
    "Since the last update the formulas that pull headcount from the roster tab return stale numbers, the pivot tables "
    "refresh only when someone opens the file on a desktop, and the summary chart on the first page shows last "
    "quarter's budget lines. We also noticed that comments added from the browser disappear after a few hours.",
    "Check that automatic calculation is on, rebuild the pivot cache from the data menu, and re-link the chart to the "
    "current range.",
)
WORKBOOK_EXCERPT = (
    "the formulas that pull headcount from the roster tab return stale numbers, the pivot tables refresh only when "
    "someone opens the file on a desktop, and the summary chart on the first page shows last quarter's budget lines.",
    WORKBOOK[1],
)
GOLDEN = (
    "What is the refund policy when an annual plan is cancelled in the first month?",
    "Annual plans cancelled within the first thirty days get a full refund to the original payment method; after that "
    "the remaining months are credited to the account.",
)
GOLDEN_PARAPHRASE = (
    "What's the refund policy if an annual plan gets cancelled during the first month?",
    "An annual plan cancelled within the first thirty days gets a full refund to the original payment method; after "
    "that, remaining months are credited to the account.",
)
PLANTED = {  # request id -> (texts, quality score): the better copy scores higher and is the one kept
    "req-migrate": (MIGRATE, 0.9),
    "req-migrate-edited": (MIGRATE_EDITED, 0.5),
    "req-migrate-independent": (MIGRATE_INDEPENDENT, 0.5),
    "req-workbook": (WORKBOOK, 0.9),
    "req-workbook-excerpt": (WORKBOOK_EXCERPT, 0.5),
    "req-golden-paraphrase": (GOLDEN_PARAPHRASE, 0.9),
}


def _planted(base: dict, n: int, request_id: str, texts: tuple[str, str], quality: float) -> str:
    user, response = texts
    record = {
        **base,
        "request_id": request_id,
        "user_id": f"planted-{n}",
        "timestamp": f"2026-02-0{n + 1}T10:00:00+00:00",
        "user_message": user,
        "response": response,
        "full_prompt": f"{base['system_prompt']}\n{user}",
        "conversation_history": [],
        "user_feedback": "thumbs_up",
        "automated_quality_score": quality,
    }
    return json.dumps(record)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    generated = generate_logs(GENERATED, seed=31).lines
    base = json.loads(generated[0])
    planted = [_planted(base, n, rid, texts, q) for n, (rid, (texts, q)) in enumerate(PLANTED.items())]
    return generated[: GENERATED // 2] + planted + generated[GENERATED // 2 :]


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regression")
    (root / "golden").mkdir()
    case = {"messages": [{"role": "user", "content": GOLDEN[0]}], "expected_output": GOLDEN[1]}
    (root / "golden" / "cases.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")
    return root


def _logs(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "logs.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder


def _params(tmp: Path, logs: Path, pool: Path, regression: Path, **dedupe) -> DatasetParams:
    data = DatasetParams().model_dump()
    data.update(logs_dir=str(logs), out_root=str(tmp / "datasets"), name="d", pool=str(pool))
    data["forget"]["deny_list"] = str(tmp / "deny.txt")
    data["decontaminate"]["regression_root"] = str(regression)
    data["dedupe"].update(dedupe)
    return DatasetParams.model_validate(data)


def _reasons(out: Path) -> dict[str, str]:
    """request id -> the reason its line was dropped."""
    rejects = (json.loads(text) for text in (out / "rejects.jsonl").read_text().splitlines())
    return {r["request_id"]: r["reason"] for r in rejects if r.get("request_id")}


def _written(out: Path) -> set[str]:
    lineage = (json.loads(text) for text in (out / "lineage.jsonl").read_text().splitlines())
    return {row["request_id"] for row in lineage}


def _splits(out: Path) -> dict[str, bytes]:
    return {f"{s}.{ext}": (out / f"{s}.{ext}").read_bytes() for s in SPLITS for ext in ("jsonl", "parquet")}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, lines: list[str], regression: Path) -> dict:
    """An incremental build (half the lines, then all) and one from scratch, semantic on."""
    tmp = tmp_path_factory.mktemp("dedupe-builds")
    pool, half = tmp / "pool", len(lines) // 2
    first = build_dataset(params=_params(tmp, _logs(tmp / "a", lines[:half]), pool, regression, methods=SEMANTIC),
                          out_dir=str(tmp / "o1"))
    every = _logs(tmp / "b", lines)
    again = build_dataset(params=_params(tmp, every, pool, regression, methods=SEMANTIC), out_dir=str(tmp / "o2"))
    fresh = build_dataset(params=_params(tmp, every, tmp / "fresh", regression, methods=SEMANTIC), out_dir=str(tmp / "o3"))
    return {"tmp": tmp, "logs": every, "pool": pool, "first": first, "again": again, "fresh": fresh}


def test_an_excerpt_is_a_contained_duplicate_and_a_light_edit_a_semantic_one(builds: dict) -> None:
    out = builds["tmp"] / "o3"
    reasons, written = _reasons(out), _written(out)
    assert reasons["req-workbook-excerpt"] == "contained_duplicate"
    assert reasons["req-migrate-edited"] == "semantic_duplicate"
    assert {"req-workbook", "req-migrate", "req-migrate-independent"} <= written
    clusters = [json.loads(text) for text in (out / "clusters.jsonl").read_text().splitlines()]
    kinds = {c["kind"] for c in clusters}
    assert {"contained", "semantic"} <= kinds
    manifest = DatasetManifest.model_validate_json((out / "manifest.json").read_text())
    assert list(manifest.dedupe) == SEMANTIC
    assert manifest.dedupe["containment"]["dropped"] >= 1 and manifest.dedupe["semantic"]["dropped"] >= 1
    assert manifest.reasons["duplicate"]["contained_duplicate"] == manifest.dedupe["containment"]["dropped"]
    assert manifest.leakage.clean and set(manifest.leakage.pairs_by_kind) == {"exact", "near", "contained", "semantic"}
    assert "dedupe method" in (out / "data_card.html").read_text()


def test_a_golden_set_paraphrase_contaminates_the_set(builds: dict) -> None:
    assert _reasons(builds["tmp"] / "o3")["req-golden-paraphrase"] == "contaminates_golden"


def test_incremental_with_semantic_on_equals_a_build_from_scratch(builds: dict) -> None:
    first, again, fresh = builds["first"], builds["again"], builds["fresh"]
    assert first.pool.embedded == first.pool.redacted > 0
    assert again.pool.reused == first.pool.processed and again.pool.embedded == again.pool.redacted
    assert again.pool.redacted < fresh.pool.redacted
    tmp = builds["tmp"]
    assert _splits(tmp / "o2") == _splits(tmp / "o3")
    for name in ("rejects.jsonl", "lineage.jsonl", "clusters.jsonl"):
        assert (tmp / "o2" / name).read_bytes() == (tmp / "o3" / name).read_bytes()
    # the semantic pairs: the rebuild compares only examples new to the pair store, the fresh pool all of them
    cold, warm, scratch = (b.dedupe_pairs["semantic"] for b in (first, again, fresh))
    assert warm["reused_rows"] == cold["compared_rows"] > 0 and warm["compared_rows"] < scratch["compared_rows"]
    assert scratch["compared_rows"] == warm["compared_rows"] + warm["reused_rows"]
    assert scratch["new_pairs"] == cold["new_pairs"] + warm["new_pairs"] > 0


def test_methods_switch_off_in_params(builds: dict, regression: Path) -> None:
    tmp = builds["tmp"]
    summary = build_dataset(
        params=_params(tmp, builds["logs"], tmp / "fresh", regression, methods=["exact", "minhash"]), out_dir=str(tmp / "o4")
    )
    reasons, written = _reasons(tmp / "o4"), _written(tmp / "o4")
    assert {"req-workbook-excerpt", "req-migrate-edited", "req-golden-paraphrase"} <= written
    assert not {"contained_duplicate", "semantic_duplicate"} & set(reasons.values())
    assert summary.pool.embedded == 0 and summary.pool.processed == 0
    manifest = DatasetManifest.model_validate_json((tmp / "o4" / "manifest.json").read_text())
    assert list(manifest.dedupe) == ["exact", "minhash"]


def test_a_model_change_re_embeds_without_re_redacting(builds: dict, regression: Path) -> None:
    tmp, fresh = builds["tmp"], builds["fresh"]
    ok_rows = fresh.pool.redacted
    params = _params(tmp, builds["logs"], tmp / "fresh", regression, methods=SEMANTIC,
                     embedding_model="sentence-transformers/all-MiniLM-L6-v2")  # same weights, another name
    changed = build_dataset(params=params, out_dir=str(tmp / "o5"))
    assert (changed.pool.processed, changed.pool.redacted, changed.pool.embedded) == (0, 0, ok_rows)
    assert changed.pool.rows == fresh.pool.rows  # rows written again, not new rows
    assert _splits(tmp / "o5") == _splits(tmp / "o3")  # same weights: same vectors, same decisions
    again = build_dataset(params=params, out_dir=str(tmp / "o6"))
    assert (again.pool.processed, again.pool.redacted, again.pool.embedded) == (0, 0, 0)
    models = {row["embed_fp"] for path in sorted((tmp / "fresh" / PARTS).glob("*.parquet"))
              for row in pq.read_table(path, columns=["embed_fp"]).to_pylist()}
    assert len(models - {None}) == 2  # the first model's rows and the re-embedded copies
