"""The one accounting mechanism: decisions counted per stage, drops streamed to a JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.dataset import RejectedRecord
from tasks.common.accounting import KEEP, Accounting, Ledger, RejectsWriter, merge_sorted_jsonl


def test_filter_counts_every_item_and_streams_each_drop(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    with RejectsWriter(path) as writer:
        acc = Accounting(Ledger(), writer.write)
        odd = lambda n: KEEP if n % 2 else (False, "even")  # noqa: E731
        kept = []
        for n in acc.filter("parity", range(5), odd, lambda n, reason: {"n": n, "kind": "filtered", "reason": reason}):
            kept.append(n)
            writer.flush()
            assert sum(1 for _ in path.open()) >= n // 2  # drops are on disk before the stream ends
    assert kept == [1, 3]
    assert acc.ledger.flat("parity") == {"total": 5, "kept": 2, "dropped_even": 3}
    assert [json.loads(x)["n"] for x in path.read_text().splitlines()] == [0, 2, 4]
    assert writer.kinds == {("filtered", "even"): 3}


def test_a_validation_failure_records_its_fields_and_first_place() -> None:
    acc = Accounting(Ledger(), [].append)
    for line in (3, 7):
        record = RejectedRecord(stage="schema", kind="rejected", reason="schema_invalid", source="a.jsonl", line=line,
                                errors=[{"type": "string_type", "loc": ["full_prompt"], "msg": "x"}])
        acc.check("schema", (False, "schema_invalid"), lambda _, r=record: r)
    acc.check("schema", KEEP)
    ledger = acc.ledger
    assert ledger.fields == {("schema_invalid", "full_prompt"): 2}
    assert ledger.samples == {"schema_invalid": "a.jsonl:3"}
    other = Ledger()
    other.drop("schema", "schema_invalid", "b.jsonl:1", ["model"])
    ledger.merge(other)
    assert ledger.flat("schema") == {"total": 3, "kept": 0, "dropped_schema_invalid": 3}
    assert ledger.samples["schema_invalid"] == "a.jsonl:3" and ledger.fields[("schema_invalid", "model")] == 1


def test_flat_over_chains_stages() -> None:
    ledger = Ledger()
    ledger.seen("read", 10)
    ledger.drop("read", "invalid_json")
    ledger.seen("warm", 9)
    for _ in range(4):
        ledger.drop("warm", "not_deterministic")
    assert ledger.flat_over(("read", "warm", "absent")) == {
        "total": 10, "kept": 5, "dropped_invalid_json": 1, "dropped_not_deterministic": 4,
    }


def test_merge_sorted_jsonl_interleaves_sorted_runs(tmp_path: Path) -> None:
    runs = {"a": [1, 4, 6], "b": [2, 3], "c": [5]}
    for name, values in runs.items():
        (tmp_path / name).write_text("".join(json.dumps({"v": v}) + "\n" for v in values))
    n = merge_sorted_jsonl([tmp_path / k for k in runs], tmp_path / "out", key=lambda r: r["v"])
    assert n == 6 and [json.loads(x)["v"] for x in (tmp_path / "out").read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


def test_failures_listed_elsewhere_report_in_the_same_shape() -> None:
    from tasks.common.accounting import reason_code, stage_report

    failures = ["ExtractError: no text in page 3", "no text extracted", "ExtractError: bad pdf"]
    report = stage_report("ingest", 10, (reason_code(f) for f in failures))
    assert report.as_flat() == {"total": 10, "kept": 7, "dropped_extracterror": 2, "dropped_no_text_extracted": 1}
