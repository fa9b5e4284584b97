"""Reading any JSONL file line by line: each line an object, or the reason it is not one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JsonLine:
    """One line of a JSONL file: its 1-based number, the parsed value, and why it is not an object."""

    line: int
    value: Any
    error: str | None = None
    """``empty_line``, ``invalid_json`` or ``data_type`` (JSON, but not an object); None for an object."""


def read_objects(path: Path) -> Iterator[JsonLine]:
    """Each line of a JSONL file (undecodable bytes replaced), one at a time."""
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                yield JsonLine(number, None, "empty_line")
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                yield JsonLine(number, None, "invalid_json")
                continue
            yield JsonLine(number, value, None if isinstance(value, dict) else "data_type")
