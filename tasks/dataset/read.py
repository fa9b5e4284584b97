"""Reading JSONL logs (plain or gzip) line by line, never crashing on a bad line.

A line that cannot be read as a JSON object is ``malformed`` (empty line, invalid JSON, not an
object, bad encoding, a broken gzip member); a JSON object that fails the ``LLMInteractionLog``
schema is ``rejected`` with pydantic's errors (without the offending input). Both name
``file:line``. The raw text of a bad line is never kept: it may hold personal data.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from schemas.dataset import RejectedRecord, SourceFile
from schemas.logs import LLMInteractionLog

LOG_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error, OSError)


@dataclass(frozen=True)
class RawLine:
    """One line of a log file, decoded but not parsed."""

    source: str
    line: int
    text: str


def find_log_files(logs_dir: Path) -> list[Path]:
    """Every log file under ``logs_dir``, sorted by relative path (the build's input order).

    Raises:
        NotADirectoryError: when ``logs_dir`` is not a folder (a typo must not build an empty dataset).
    """
    if not Path(logs_dir).is_dir():
        raise NotADirectoryError(f"logs folder not found: {logs_dir}")
    files = [p for p in Path(logs_dir).rglob("*") if p.is_file() and p.name.endswith(LOG_SUFFIXES)]
    return sorted(files, key=lambda p: p.relative_to(logs_dir).as_posix())


def describe_source(path: Path, logs_dir: Path) -> SourceFile:
    """sha256 of the file's bytes and its line count (after decompression, as far as it reads)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    lines = sum(1 for _ in iter_raw_lines(path, logs_dir))
    return SourceFile(path=path.relative_to(logs_dir).as_posix(), sha256=digest.hexdigest(), lines=lines)


def _malformed(source: str, line: int, reason: str, message: str) -> RejectedRecord:
    return RejectedRecord(stage="read", kind="malformed", reason=reason, source=source, line=line, message=message)


def iter_raw_lines(path: Path, logs_dir: Path) -> Iterator[RawLine | RejectedRecord]:
    """Yield each line of a log file, or a ``malformed`` record for a line that cannot be decoded.

    A gzip file that breaks part-way yields its good lines, then one ``bad_gzip`` record at the
    line where reading failed.
    """
    source = path.relative_to(logs_dir).as_posix()
    opener = gzip.open if path.name.endswith(".gz") else open
    number = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    yield _malformed(source, number, "bad_encoding", f"not UTF-8 at byte {error.start}")
                    continue
                yield RawLine(source=source, line=number, text=text)
    except _GZIP_ERRORS as error:
        yield _malformed(source, number + 1, "bad_gzip", f"{type(error).__name__}: unreadable compressed data")


def parse_log_line(raw: RawLine) -> LLMInteractionLog | RejectedRecord:
    """Validate one line against the ``LLMInteractionLog`` schema.

    Returns:
        The log, or a ``malformed`` record (empty line, invalid JSON, not an object) or a
        ``rejected`` record (``schema_invalid``, with pydantic's errors, inputs stripped).
    """
    if not raw.text.strip():
        return _malformed(raw.source, raw.line, "empty_line", "empty line")
    try:
        return LLMInteractionLog.model_validate_json(raw.text)
    except ValidationError as error:
        errors = error.errors(include_input=False, include_url=False, include_context=False)
        if errors and errors[0]["type"] == "json_invalid":
            return _malformed(raw.source, raw.line, "invalid_json", "line is not valid JSON")
        if errors and errors[0]["type"] == "model_type":
            return _malformed(raw.source, raw.line, "not_an_object", "line is JSON but not an object")
        return RejectedRecord(
            stage="schema",
            kind="rejected",
            reason="schema_invalid",
            source=raw.source,
            line=raw.line,
            errors=[_plain_error(e) for e in errors],
            message=f"{len(errors)} schema error(s): " + "; ".join(_short(e) for e in errors[:5]),
        )


def _plain_error(error: dict) -> dict:
    """A pydantic error as plain JSON (loc as a list of str/int)."""
    return {"type": error["type"], "loc": list(error["loc"]), "msg": error["msg"]}


def _short(error: dict) -> str:
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
