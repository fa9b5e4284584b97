"""Writing is deterministic and atomic: a failed build leaves the previous dataset as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schemas.dataset import ChatExample, ChatMessage, Lineage, RejectedRecord
from schemas.params import DatasetParams
from tasks.dataset.collect import BuildRejects
from tasks.dataset.prefect_tasks import dedupe_and_split, write_dataset
from tasks.dataset.write import staging_dir
from tests.documents import folder_bytes
from tests.tasks.dataset.stores import store_of

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
    """Three distinct examples through the store, dedupe-and-split and the writer; one malformed line."""
    reject = RejectedRecord(stage="read", kind="malformed", reason="empty_line", source="a.jsonl", line=4)
    staging = staging_dir(out)
    with BuildRejects(staging) as rejects, store_of([_example(n) for n in (1, 2, 3)], staging, PARAMS) as store:
        rejects.lines.write(reject)
        selection = dedupe_and_split.fn(store, PARAMS)
        return write_dataset.fn(out, PARAMS, store, selection, rejects, selection.tally.reports(), [], input_lines)


def test_writes_are_byte_identical(tmp_path: Path) -> None:
    first = _write(tmp_path / "a" / "w", 4)
    second = _write(tmp_path / "b" / "w", 4)
    assert folder_bytes(first.out_dir) == folder_bytes(second.out_dir)
    assert sum(pq.read_table(first.out_dir / f"{s}.parquet").num_rows for s in ("train", "val", "test")) == 3
    assert not (first.out_dir / ".spool").exists()
    assert first.manifest.user_hashes == ["h1", "h2", "h3"]


def test_a_failed_build_leaves_the_previous_dataset(tmp_path: Path) -> None:
    out = tmp_path / "w"
    _write(out, 4)
    before = folder_bytes(out)
    with pytest.raises(ValueError, match="accounting"):
        _write(out, 5)
    assert folder_bytes(out) == before


def test_the_split_line_from_an_examples_json_is_its_to_openai() -> None:
    """Split files are written from the spooled JSON: the same record ``ChatExample.to_openai`` gives."""
    import json

    from tasks.dataset.write import _parquet_row, openai_record

    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "naïve"}'}, "x": None}
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "n": 1.5}}}]
    messages = (
        ChatMessage(role="system", content="Sé breve. 日本"),
        ChatMessage(role="user", content="hi", name="PERSON_1"),
        ChatMessage(role="assistant", content=None, tool_calls=[call]),
        ChatMessage(role="tool", content="{}", tool_call_id="c1", name="lookup"),
        ChatMessage(role="assistant", content=""),
    )
    plain = _example(1)
    rich = plain.model_copy(update={"messages": messages, "tools": tools, "quality_score": 0.25, "language": "en"})
    for example in (plain, rich):
        loaded = json.loads(example.model_dump_json())
        assert openai_record(loaded) == example.to_openai()
        row = _parquet_row(loaded, "train")
        assert (row["example_id"], row["request_id"], row["line"], row["tools"] is None) == (
            example.example_id, example.lineage.request_id, example.lineage.line, example.tools is None)
        assert [m["content"] for m in row["messages"]] == [m.content for m in example.messages]


def test_the_store_reads_back_any_examples_in_any_order_across_its_batches(tmp_path: Path) -> None:
    """The spool's examples, read back (mapped) in a shuffled order with repeats, are the ones added, the last one too."""
    import random

    from tasks.dataset.collect import ExampleRecord, ExampleStore

    examples = [_example(n) for n in range(1, 8)]
    with store_of(examples[:4], tmp_path, PARAMS) as store:
        more = [ExampleRecord.of(e) for e in examples[4:]]
        store.add(more, [k.hex() for k in store.exact_keys[:3]], store.signatures[:3])  # a second batch (keys not read here)
        order = [6, 0, 3, 3, 5, 1, 2, 4, 6]
        random.Random(3).shuffle(order)
        assert [e.example_id for e in store.read(order)] == [examples[i].example_id for i in order]
        assert list(store.read(order)) == [examples[i] for i in order]
        assert [d["example_id"] for d in store.read_json(order)] == [examples[i].example_id for i in order]
    with ExampleStore(tmp_path / "empty.spool", PARAMS.dedupe.num_perm) as empty:
        assert list(empty.read([])) == []
