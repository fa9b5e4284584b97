"""Reading any JSONL file line by line: each line an object, or the reason it is not one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


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


_LONG_NUMBER = re.compile(r"[0-9]{19}")
"""19 digits in a row: an integer orjson may read as a float (over 64 bits) is among such texts."""
_LONG_NUMBER_BYTES = re.compile(rb"[0-9]{19}")


def loads(text: str | bytes) -> Any:
    """``json.loads``'s value, parsed by orjson (2-3x faster) where the two agree.

    orjson reads an integer over 64 bits as a float and refuses a NaN literal, 1e400 or a lone
    surrogate escape. A text with 19 digits in a row goes to ``json.loads``, as does one orjson
    refuses (its value, or its error for invalid JSON). The JSON this is for is our own (examples the
    build spools and the pool stores): almost always orjson's.
    """
    if not (_LONG_NUMBER_BYTES if isinstance(text, bytes) else _LONG_NUMBER).search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
