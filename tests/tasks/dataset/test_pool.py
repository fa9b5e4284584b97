"""The example pool on its own: rows from real processing (presidio), lookups, fingerprints, forget_user."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from schemas.dataset import ChatExample
from schemas.params import DatasetParams
from tasks.dataset import pool as pool_module
from tasks.dataset.pool import PARTS, Pool, fingerprints, forget_user, line_hash, pool_rows
from tasks.dataset.prefect_tasks import prepare_lines
from tasks.dataset.read import RawLine
from tools.synthetic_logs import generate_logs


def _lines(n: int = 40) -> list[RawLine]:
    return [RawLine(source="logs.jsonl", line=i + 1, text=t + "\n") for i, t in enumerate(generate_logs(n, seed=3).lines)]


def _pool_with(tmp_path: Path, params: DatasetParams, lines: list[RawLine]) -> tuple[Pool, list[dict]]:
    pool = Pool.open(tmp_path / "pool", params)
    prepared = prepare_lines(lines, params, frozenset(), None, pool.rows_for(lines))
    pool.append(prepared.new_rows)
    return Pool.open(tmp_path / "pool", params), prepared.new_rows


def test_rows_are_found_again_and_reused_as_they_were(tmp_path: Path) -> None:
    params, lines = DatasetParams(), _lines()
    pool, rows = _pool_with(tmp_path, params, lines)
    assert len(pool) == len(rows) == len(lines) == pool_rows(tmp_path / "pool")
    found = pool.rows_for(lines)
    assert all(row is not None for row in found)
    direct = prepare_lines(lines, params, frozenset())
    again = prepare_lines(lines, params, frozenset(), None, found)
    assert again.pool["reused"] == len(lines) and again.pool["processed"] == 0 and not again.new_rows
    assert again.examples == direct.examples  # the records, JSON included
    assert again.exact_keys == direct.exact_keys and (again.signatures == direct.signatures).all()
    assert [r.model_dump() for r in again.rejects] == [r.model_dump() for r in direct.rejects]
    moved = [RawLine(source="other.jsonl", line=r.line + 7, text=r.text) for r in lines]  # same content elsewhere
    relocated = prepare_lines(moved, params, frozenset(), None, pool.rows_for(moved))
    assert relocated.pool["reused"] == len(lines)
    assert {(e.source, e.line) for e in relocated.examples} <= {(m.source, m.line) for m in moved}
    assert {(e.example().lineage.source, e.example().lineage.line) for e in relocated.examples} == {(e.source, e.line) for e in relocated.examples}


def test_fingerprints_ignore_selection_split_ratios_and_worker_counts() -> None:
    base = fingerprints(DatasetParams())
    same = DatasetParams.model_validate(
        {"select": {"min_quality_score": 0.9}, "split": {"train": 0.5, "val": 0.25, "test": 0.25},
         "redact": {"workers": 3, "batch_size": 8}, "dedupe": {"threshold": 0.5}, "name": "other"}
    )
    assert fingerprints(same) == base
    redact = fingerprints(DatasetParams.model_validate({"redact": {"score_threshold": 0.7}}))
    assert redact.validate == base.validate and redact.redact != base.redact
    validation = fingerprints(DatasetParams.model_validate({"validation": {"max_tokens": 100}}))
    assert validation.validate != base.validate and validation.redact != base.redact


def test_the_redaction_fingerprint_covers_the_redactors_code(tmp_path: Path, monkeypatch) -> None:
    import shutil

    import tasks.pii.version as version

    copy = tmp_path / "pii"
    shutil.copytree(Path(version.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = version.source_digest(copy)
    assert version.source_digest(copy) == before
    names = copy / "names.py"
    names.write_text(names.read_text() + "\n# one more cue\n")
    assert version.source_digest(copy) != before
    base = fingerprints(DatasetParams())
    monkeypatch.setattr(version, "redactor_fingerprint", lambda: version.source_digest(copy))
    changed = fingerprints(DatasetParams())
    assert changed.validate == base.validate and changed.redact != base.redact


def test_forget_user_removes_their_rows_and_is_idempotent(tmp_path: Path) -> None:
    params, lines = DatasetParams(), _lines()
    _, rows = _pool_with(tmp_path, params, lines)
    users = [r["user_hash"] for r in rows if r["user_hash"]]
    target = max(set(users), key=users.count)
    assert forget_user(tmp_path / "pool", target) == users.count(target) > 0
    assert forget_user(tmp_path / "pool", target) == 0
    left = [r for p in sorted((tmp_path / "pool" / PARTS).glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert len(left) == len(rows) - users.count(target) and target not in {r["user_hash"] for r in left}
    assert not list((tmp_path / "pool" / PARTS).glob(".*.tmp"))
    assert forget_user(tmp_path / "nowhere", target) == 0


def test_a_second_writer_waits_for_the_pool_lock(tmp_path: Path) -> None:
    """Two builds (or a build and forget) at once take turns: the pool's lock is the ingest's file lock."""
    import subprocess
    import sys
    import time

    holder = (
        "import sys, time\nfrom tasks.dataset.pool import pool_lock\n"
        "with pool_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(3)\n"
    )
    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path / "pool")], stdout=subprocess.PIPE, text=True,
                               cwd=root, env={**__import__("os").environ, "PYTHONPATH": str(root)})
    try:
        assert process.stdout.readline().strip() == "held"
        (tmp_path / "pool" / PARTS).mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        assert forget_user(tmp_path / "pool", "nobody") == 0
        assert time.monotonic() - start > 1.5  # it waited for the holder to let go
    finally:
        process.wait(timeout=60)


def test_lines_sharing_a_key_prefix_each_find_their_own_row(tmp_path: Path, monkeypatch) -> None:
    """The index holds a key prefix only: with 2 bits of it every look-up meets other lines' rows first."""
    params, lines = DatasetParams(), _lines(24)
    _, rows = _pool_with(tmp_path, params, lines[:12])
    _pool_with(tmp_path, params, lines[12:])  # a second part
    monkeypatch.setattr(pool_module, "_PREFIX_BITS", 2)
    pool = Pool.open(tmp_path / "pool", params)
    assert len(pool) == 24
    found = pool.rows_for(lines)
    assert [row["line_hash"] for row in found] == [line_hash(raw.text) for raw in lines]
    assert pool.rows_for([RawLine(source="x", line=1, text="a line the pool has never seen")]) == [None]


def test_an_example_record_from_a_rows_json_equals_the_parsed_examples(tmp_path: Path) -> None:
    from tasks.dataset.collect import ExampleRecord

    params, lines = DatasetParams(), _lines(12)
    _, rows = _pool_with(tmp_path, params, lines)
    ok = [row for row in rows if row["outcome"] == "ok"]
    assert ok
    for row in ok:
        example = ChatExample.model_validate_json(row["example"])
        assert ExampleRecord.from_json(row["example"], row["source"], row["line"]) == ExampleRecord.of(example)
        moved = ExampleRecord.from_json(row["example"], "elsewhere.jsonl", row["line"] + 100)
        assert (moved.source, moved.line) == ("elsewhere.jsonl", row["line"] + 100)
        assert moved.example().lineage.source == "elsewhere.jsonl" and moved.example_id == example.example_id


def test_rows_without_the_user_turn_columns_are_decontaminated_as_rows_with_them(tmp_path: Path) -> None:
    """A part written before ``user_key``/``user_signature`` existed: the user turns' keys come from the example."""
    import json

    from tasks.dataset.decontaminate import load_index

    lines = _lines(40)
    _, rows = _pool_with(tmp_path, DatasetParams(), lines)
    ok = [row for row in rows if row["outcome"] == "ok"]
    messages = json.loads(ok[0]["example"])["messages"]
    golden = tmp_path / "regression" / "golden"
    golden.mkdir(parents=True)
    user_only = [m for m in messages if m["role"] == "user"]  # the user turn copied, another answer expected
    (golden / "cases.jsonl").write_text(json.dumps({"id": "c", "messages": user_only, "expected_output": "Something else entirely, written apart."}) + "\n")
    params = DatasetParams.model_validate({"decontaminate": {"regression_root": str(tmp_path / "regression"), "retrieval_sets": []}})
    index = load_index(params)
    found = Pool.open(tmp_path / "pool", params).rows_for(lines)
    older = [None if row is None else {k: v for k, v in row.items() if k not in ("user_key", "user_signature")} for row in found]
    with_columns = prepare_lines(lines, params, frozenset(), index, found)
    without = prepare_lines(lines, params, frozenset(), index, older)
    copied = [r for r in with_columns.rejects if r.reason == "contaminates_golden"]
    assert copied and any(r.example_id == ok[0]["example_id"] for r in copied)
    assert [r.model_dump() for r in without.rejects] == [r.model_dump() for r in with_columns.rejects]
    assert without.examples == with_columns.examples
