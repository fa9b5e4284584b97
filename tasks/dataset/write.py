"""Writing a dataset folder atomically: split files (JSONL + parquet), rejects, lineage, manifest.

Every file is deterministic (sorted, no timestamps), so ``dvc repro`` rebuilds byte-identical
outputs. The folder is built beside the target and swapped in only when complete: a build that
fails half-way leaves the previous dataset as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dataset import SPLITS

MESSAGE_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.string()),
        ("name", pa.string()),
        ("tool_call_id", pa.string()),
    ]
)
PARQUET_SCHEMA = pa.schema(
    [
        ("example_id", pa.string()),
        ("split", pa.string()),
        ("category", pa.string()),
        ("messages", pa.list_(MESSAGE_TYPE)),
        ("tools", pa.string()),
        ("token_count", pa.int64()),
        ("quality_score", pa.float64()),
        ("request_id", pa.string()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("language", pa.string()),
    ]
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One compact, key-sorted JSON object a line."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(_dumps(record) + "\n")


def openai_record(example: Mapping[str, Any]) -> dict[str, Any]:
    """A ``ChatExample``'s JSON (as loaded) as one line of an OpenAI chat fine-tuning file: ``ChatExample.to_openai``.

    The split files are written from the spooled JSON: parsing every kept example through pydantic again
    was a tenth of a rebuild. ``tests/tasks/dataset/test_write.py`` holds this equal to ``to_openai``.
    """
    record: dict[str, Any] = {"messages": [{k: v for k, v in m.items() if v is not None} for m in example["messages"]]}
    if example.get("tools"):
        record["tools"] = example["tools"]
    return record


def _parquet_row(example: Mapping[str, Any], split: str) -> dict[str, Any]:
    messages = [
        {
            "role": m["role"],
            "content": m.get("content"),
            "tool_calls": _dumps(m["tool_calls"]) if m.get("tool_calls") else None,
            "name": m.get("name"),
            "tool_call_id": m.get("tool_call_id"),
        }
        for m in example["messages"]
    ]
    lineage = example["lineage"]
    return {
        "example_id": example["example_id"],
        "split": split,
        "category": example["category"],
        "messages": messages,
        "tools": _dumps(example["tools"]) if example.get("tools") else None,
        "token_count": example.get("token_count"),
        "quality_score": example.get("quality_score"),
        "request_id": lineage["request_id"],
        "source": lineage["source"],
        "line": lineage["line"],
        "language": example.get("language"),
    }


ROW_GROUP = 5_000
"""Parquet rows written at a time (one row group each): a split is never held whole in memory."""


def write_split(folder: Path, split: str, examples: Iterable[Mapping[str, Any]]) -> int:
    """``<split>.jsonl`` (OpenAI chat format) and ``<split>.parquet`` from examples (``ChatExample`` JSON, loaded) in file order.

    Returns:
        How many examples were written.
    """
    written = 0
    rows: list[dict[str, Any]] = []
    with (
        (folder / f"{split}.jsonl").open("w", encoding="utf-8", newline="\n") as handle,
        pq.ParquetWriter(folder / f"{split}.parquet", PARQUET_SCHEMA, compression="zstd") as parquet,
    ):
        for example in examples:
            handle.write(_dumps(openai_record(example)) + "\n")
            rows.append(_parquet_row(example, split))
            written += 1
            if len(rows) >= ROW_GROUP:
                parquet.write_table(pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA))
                rows = []
        if rows or not written:
            parquet.write_table(pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA))
    return written


def split_files(folder: Path) -> dict[str, str]:
    """sha256 of every split file, keyed by name."""
    return {f"{s}.{ext}": file_sha256(folder / f"{s}.{ext}") for s in SPLITS for ext in ("jsonl", "parquet")}


def content_version(file_hashes: Mapping[str, str]) -> str:
    """The dataset version: sha256 over the split JSONL files' hashes (what a trainer reads)."""
    lines = "".join(f"{name}:{file_hashes[name]}\n" for name in (f"{s}.jsonl" for s in SPLITS))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def staging_dir(out_dir: Path) -> Path:
    """A fresh folder beside ``out_dir`` to build into."""
    staging = out_dir.with_name(f".{out_dir.name}.staging")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def publish_dir(staging: Path, out_dir: Path) -> None:
    """Swap the complete staging folder in place of ``out_dir``."""
    previous = out_dir.with_name(f".{out_dir.name}.previous")
    if previous.exists():
        shutil.rmtree(previous)
    if out_dir.exists():
        out_dir.rename(previous)
    staging.rename(out_dir)
    if previous.exists():
        shutil.rmtree(previous)
