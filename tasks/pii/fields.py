"""Redacting one field of any JSONL record: a string, a list of strings or a list of chat messages."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas.params import RedactParams
from tasks.common.accounting import KEEP, Accounting
from tasks.common.jsonl import read_objects
from tasks.pii.echoes import with_echoes
from tasks.pii.redact import PlaceholderBook, analyze_texts, common_words, redact_text

STAGE = "redact"


def field_texts(value: Any) -> list[str]:
    """The texts of a field value: the string, the strings, or the messages' string contents."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [
            v if isinstance(v, str) else v.get("content")
            for v in value
            if isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("content"), str))
        ]
    return []


def redact_value(value: Any, findings: Mapping[str, list], book: PlaceholderBook) -> tuple[Any, bool]:
    """Redact a string, a list of strings or a list of chat messages; False when the shape is unknown.

    A missing field (``None``) is kept as it is.
    """
    if isinstance(value, str):
        return redact_text(value, findings.get(value, []), book), True
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [redact_text(v, findings.get(v, []), book) for v in value], True
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        out = []
        for message in value:
            content = message.get("content")
            if isinstance(content, str):
                message = {**message, "content": redact_text(content, findings.get(content, []), book)}
            out.append(message)
        return out, True
    return value, value is None


def redact_jsonl_field(in_file: Path, out_file: Path, field: str, params: RedactParams, acc: Accounting) -> Counter[str]:
    """Redact ``field`` in every line of ``in_file`` into ``out_file``, keeping the other fields and the order.

    A line that is not a JSON object, or whose field has an unknown shape, is written as
    ``{"_redact_error": reason, "_line": n}`` (its text may hold personal data, so it is never
    copied through) and counted as ``dropped_<reason>`` in ``acc`` (stage ``redact``).

    Returns:
        The entities found, by type.
    """
    rows = list(read_objects(in_file))
    findings = analyze_texts([t for row in rows if not row.error for t in field_texts(row.value.get(field))], params)
    common = common_words(params)
    entities: Counter[str] = Counter()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as handle:
        for row in rows:
            placeholder = lambda reason, row=row: {"_redact_error": reason, "_line": row.line}  # noqa: E731
            if row.error:
                acc.check(STAGE, (False, row.error), placeholder)
                handle.write(json.dumps(placeholder(row.error)) + "\n")
                continue
            book = PlaceholderBook()
            local = with_echoes(field_texts(row.value.get(field)), findings, common)
            value, ok = redact_value(row.value.get(field), local, book)
            if not acc.check(STAGE, KEEP if ok else (False, "unsupported_field_type"), placeholder):
                handle.write(json.dumps(placeholder("unsupported_field_type")) + "\n")
                continue
            entities.update(book.found)
            obj = row.value
            handle.write(json.dumps({**obj, field: value} if field in obj else obj, ensure_ascii=False) + "\n")
    return entities
