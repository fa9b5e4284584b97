"""Writing is deterministic and atomic: a failed build leaves the previous dataset as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schemas.dataset import ChatExample, ChatMessage, LeakageReport, Lineage, RejectedRecord, SplitReport
from schemas.params import DatasetParams
from tasks.dataset.stages import write_dataset

PARAMS = DatasetParams(name="w")


def _example(n: int) -> ChatExample:
    messages = (
        ChatMessage(role="user", content=f"question {n}"),
        ChatMessage(role="assistant", content=f"answer {n} here"),
    )
    return ChatExample(
        example_id=f"{n:064d}",
        messages=messages,
        group_hash="0" * 64,
        user_hash=f"h{n}",
        token_count=6,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lineage=Lineage(request_id=f"r{n}", source="a.jsonl", line=n),
    )


def _write(out: Path, input_lines: int):
    examples = [_example(n) for n in (1, 2, 3)]
    reject = RejectedRecord(stage="read", kind="malformed", reason="empty_line", source="a.jsonl", line=4)
    report = SplitReport(targets={"train": 0.8, "val": 0.1, "test": 0.1}, counts={}, categories=[], groups_straddling=0)
    return write_dataset.fn(
        out,
        PARAMS,
        examples,
        ["train", "train", "test"],
        [reject],
        [],
        [],
        report,
        LeakageReport(threshold=0.8, near_duplicate_pairs=0),
        {},
        [],
        input_lines,
    )


def test_writes_are_byte_identical(tmp_path: Path) -> None:
    first = _write(tmp_path / "a" / "w", 4)
    second = _write(tmp_path / "b" / "w", 4)
    names = sorted(p.name for p in first.out_dir.iterdir())
    assert names == sorted(p.name for p in second.out_dir.iterdir())
    assert all((first.out_dir / n).read_bytes() == (second.out_dir / n).read_bytes() for n in names)
    assert pq.read_table(first.out_dir / "train.parquet").num_rows == 2
    assert first.manifest.user_hashes == ["h1", "h2", "h3"]


def test_a_failed_build_leaves_the_previous_dataset(tmp_path: Path) -> None:
    out = tmp_path / "w"
    _write(out, 4)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ValueError, match="accounting"):
        _write(out, 5)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
