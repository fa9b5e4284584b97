"""The cookbook's format checks and the TrainingDataValidator gates; the validate command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.app import make_app
from cli.dataset import COMMANDS
from schemas.params import ValidateParams
from tasks.dataset.tokens import count_tokens
from tasks.dataset.validate import validate_example

PARAMS = ValidateParams()
REPLY = "Open Settings, then choose Billing to see the invoice."


def _codes(example, params: ValidateParams = PARAMS) -> tuple[list[str], list[str]]:
    result = validate_example(example, 1, params, count_tokens)
    assert result.valid == (not result.errors)
    return [e.code for e in result.errors], [w.code for w in result.warnings]


def _chat(*messages: dict) -> dict:
    return {"messages": list(messages)}


USER = {"role": "user", "content": "Where is my invoice?"}


def test_valid_example() -> None:
    assert _codes(_chat({"role": "system", "content": "Be brief."}, USER, {"role": "assistant", "content": REPLY})) == (
        [],
        [],
    )


def test_cookbook_format_errors() -> None:
    assert _codes([1, 2])[0] == ["data_type"]
    assert _codes({"messages": []})[0] == ["missing_messages_list"]
    assert _codes({"prompt": "x"})[0] == ["missing_messages_list"]
    assert "message_missing_key" in _codes(_chat({"role": "user"}, {"role": "assistant", "content": REPLY}))[0]
    assert _codes(_chat(USER, {"role": "assistant", "content": REPLY, "mood": "happy"}))[0] == [
        "message_unrecognized_key"
    ]
    assert _codes(_chat({"role": "robot", "content": "hi"}, {"role": "assistant", "content": REPLY}))[0] == [
        "unrecognized_role"
    ]
    assert "missing_content" in _codes(_chat(USER, {"role": "assistant", "content": 42}))[0]
    assert _codes(_chat(USER))[0] == ["example_missing_assistant_message"]


def test_training_data_validator_rules() -> None:
    assert _codes(_chat(USER, {"role": "assistant", "content": REPLY}, USER))[0] == ["last_message_not_assistant"]
    assert _codes(_chat({"role": "user", "content": "   "}, {"role": "assistant", "content": REPLY}))[0] == [
        "empty_content"
    ]
    assert _codes(_chat(USER, {"role": "assistant", "content": "OK."}))[0] == ["assistant_reply_too_short"]
    errors, warnings = _codes(_chat(USER, {"role": "assistant", "content": "I cannot share another customer's data."}))
    assert errors == [] and warnings == ["possible_refusal"]
    strict = ValidateParams(reject_refusals=True)
    assert _codes(_chat(USER, {"role": "assistant", "content": "I can't share another customer's data."}), strict)[
        0
    ] == ["possible_refusal"]


def test_token_limit_uses_a_real_tokenizer() -> None:
    long_reply = "internationalisation " * 300
    tokens = count_tokens([long_reply])
    assert tokens > 300  # a subword tokenizer splits the long word; a 128-token truncation would cap it
    errors, _ = _codes(_chat(USER, {"role": "assistant", "content": long_reply}), ValidateParams(max_tokens=tokens))
    assert errors == ["too_many_tokens"]
    assert (
        _codes(_chat(USER, {"role": "assistant", "content": long_reply}), ValidateParams(max_tokens=tokens + 50))[0]
        == []
    )


def test_assistant_tool_call_without_content_is_valid() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"order_id": "A1"}'}}
    example = _chat(USER, {"role": "assistant", "tool_calls": [call]})
    assert _codes(example) == ([], [])
    assert _codes(_chat(USER, {"role": "assistant", "content": None, "tool_calls": [call]})) == ([], [])


def test_validate_command_prints_one_verdict_a_line(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    lines = [json.dumps(_chat(USER, {"role": "assistant", "content": REPLY})), "not json", json.dumps(_chat(USER)), ""]
    path.write_text("\n".join(lines) + "\n")
    app = make_app(COMMANDS)
    result = CliRunner().invoke(app, ["validate", "--in", str(path), "--json"])
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(v["line"], v["valid"]) for v in verdicts] == [(1, True), (2, False), (3, False), (4, False)]
    assert verdicts[2]["errors"][0]["code"] == "example_missing_assistant_message"
    assert set(verdicts[0]) == {"line", "valid", "errors", "warnings"}
