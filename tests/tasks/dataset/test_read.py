"""Reading logs never crashes: bad lines become malformed or rejected records naming file:line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from schemas.dataset import RejectedRecord
from schemas.logs import LLMInteractionLog
from tasks.dataset.read import RawLine, find_log_files, iter_raw_lines, parse_log_line
from tools.synthetic_logs import generate_logs

GOOD = json.loads(
    next(line for line in generate_logs(5, seed=1, bad_rate=0, duplicate_rate=0, near_duplicate_rate=0).lines)
)


def _parse(text: str) -> LLMInteractionLog | RejectedRecord:
    return parse_log_line(RawLine(source="a.jsonl", line=7, text=text))


def test_good_line_keeps_unknown_fields() -> None:
    log = _parse(json.dumps({**GOOD, "client": {"app": "web"}}))
    assert isinstance(log, LLMInteractionLog)
    assert log.model_extra == {"client": {"app": "web"}}


def test_bad_lines_are_malformed_with_reason_and_place() -> None:
    cases = {
        "": "empty_line",
        "   ": "empty_line",
        '{"request_id": "x"': "invalid_json",
        "[1, 2]": "not_an_object",
        '"s"': "not_an_object",
    }
    for text, reason in cases.items():
        record = _parse(text)
        assert isinstance(record, RejectedRecord)
        assert (record.kind, record.reason, record.where) == ("malformed", reason, "a.jsonl:7")


def test_wrong_types_are_rejected_with_errors_but_without_input() -> None:
    secret = "alice@example.com"
    record = _parse(
        json.dumps({**GOOD, "temperature": "warm", "max_tokens": "12", "user_message": 5, "user_id": secret})
    )
    assert isinstance(record, RejectedRecord) and record.kind == "rejected" and record.reason == "schema_invalid"
    assert {tuple(e["loc"]) for e in record.errors} == {("temperature",), ("max_tokens",), ("user_message",)}
    assert "input" not in json.dumps(record.errors) and secret not in record.model_dump_json()


def test_missing_required_field_is_rejected() -> None:
    record = _parse(json.dumps({k: v for k, v in GOOD.items() if k != "response"}))
    assert isinstance(record, RejectedRecord) and record.errors[0]["loc"] == ["response"]
    assert record.errors[0]["type"] == "missing"


def test_bad_gzip_member_and_bad_encoding(tmp_path: Path) -> None:
    good = (json.dumps(GOOD) + "\n").encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(good * 2) + b"\x1f\x8b\x08\x00broken")
    (tmp_path / "b.jsonl").write_bytes(good + b"\xff\xfe\n")
    rows = [r for f in find_log_files(tmp_path) for r in iter_raw_lines(f, tmp_path)]
    kinds = [(r.source, r.line, r.reason if isinstance(r, RejectedRecord) else "line") for r in rows]
    assert kinds == [
        ("a.jsonl.gz", 1, "line"),
        ("a.jsonl.gz", 2, "line"),
        ("a.jsonl.gz", 3, "bad_gzip"),
        ("b.jsonl", 1, "line"),
        ("b.jsonl", 2, "bad_encoding"),
    ]


def test_a_missing_logs_folder_is_a_clear_error(tmp_path):
    """Regression: a mistyped logs folder built an empty dataset instead of failing."""
    import pytest

    with pytest.raises(NotADirectoryError, match="logs folder not found"):
        find_log_files(tmp_path / "no-such-folder")
