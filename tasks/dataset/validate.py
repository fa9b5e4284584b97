"""Chat fine-tuning format checks and quality gates: errors reject, warnings annotate.

The format checks are those of the OpenAI cookbook's chat fine-tuning data check (data type,
missing messages list, message missing key, unrecognized key, unrecognized role, missing content,
no assistant message). The quality gates are the ``TrainingDataValidator`` rules of *Backend
Engineering for AI*: the last message is the assistant's, no empty content, a token limit, no very
short assistant reply, refusals flagged for review. An assistant message carrying ``tool_calls``
and no content is valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from schemas.dataset import ValidationIssue, ValidationResult
from schemas.params import ValidateParams
from tasks.common.accounting import KEEP, Accounting
from tasks.common.jsonl import read_objects

RECOGNIZED_KEYS = frozenset({"role", "content", "name", "function_call", "tool_calls", "tool_call_id", "weight"})
RECOGNIZED_ROLES = frozenset({"system", "user", "assistant", "function", "tool", "developer"})
TokenCounter = Callable[[list[str]], int]


def _issue(code: str, message: str) -> ValidationIssue:
    return ValidationIssue(code=code, message=message)


def _calls_a_tool(message: dict[str, Any]) -> bool:
    return message.get("role") == "assistant" and bool(message.get("tool_calls") or message.get("function_call"))


def check_format(example: Any) -> list[ValidationIssue]:
    """The cookbook's format checks; an empty list means the structure is valid."""
    if not isinstance(example, dict):
        return [_issue("data_type", f"example is a {type(example).__name__}, not an object")]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [_issue("missing_messages_list", "no non-empty 'messages' list")]
    issues: list[ValidationIssue] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            issues.append(_issue("data_type", f"messages[{i}] is not an object"))
            continue
        if "role" not in message or ("content" not in message and not _calls_a_tool(message)):
            issues.append(_issue("message_missing_key", f"messages[{i}] lacks 'role' or 'content'"))
        unknown = sorted(set(message) - RECOGNIZED_KEYS)
        if unknown:
            issues.append(_issue("message_unrecognized_key", f"messages[{i}] has {unknown}"))
        if message.get("role") not in RECOGNIZED_ROLES:
            issues.append(_issue("unrecognized_role", f"messages[{i}] role {message.get('role')!r}"))
        content = message.get("content")
        if not _calls_a_tool(message) and (content is None or not isinstance(content, str)):
            issues.append(_issue("missing_content", f"messages[{i}] has no text content"))
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        issues.append(_issue("example_missing_assistant_message", "no assistant message"))
    return issues


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    """Every text the model reads: contents and tool-call payloads."""
    texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
    texts += [json.dumps(m["tool_calls"], sort_keys=True) for m in messages if m.get("tool_calls")]
    return texts


def check_quality(
    messages: list[dict[str, Any]], params: ValidateParams, count_tokens: TokenCounter
) -> tuple[list[ValidationIssue], list[ValidationIssue], int]:
    """The TrainingDataValidator rules on a structurally valid ``messages`` list.

    Returns:
        ``(errors, warnings, token_count)``.
    """
    errors: list[ValidationIssue] = []
    warnings: list[ValidationIssue] = []
    if messages[-1].get("role") != "assistant":
        errors.append(_issue("last_message_not_assistant", f"last message is {messages[-1].get('role')!r}"))
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str) and not content.strip() and not _calls_a_tool(message):
            errors.append(_issue("empty_content", f"messages[{i}] is blank"))
    tokens = count_tokens(_texts(messages))
    if tokens > params.max_tokens:
        errors.append(_issue("too_many_tokens", f"{tokens} tokens > {params.max_tokens}"))
    for i, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "assistant" or not isinstance(content, str) or not content.strip():
            continue
        if len(content.strip()) < params.min_assistant_chars:
            errors.append(_issue("assistant_reply_too_short", f"messages[{i}] has {len(content.strip())} characters"))
        if content.lstrip().startswith(tuple(params.refusal_prefixes)):
            target = errors if params.reject_refusals else warnings
            target.append(_issue("possible_refusal", f"messages[{i}] reads like a refusal: review if intended"))
    return errors, warnings, tokens


def validate_example(example: Any, line: int, params: ValidateParams, count_tokens: TokenCounter) -> ValidationResult:
    """Run the format checks, then (when the structure holds) the quality gates.

    Args:
        example: One parsed JSONL line (anything JSON can hold).
        line: Its 1-based line number.
        params: Thresholds of the quality gates.
        count_tokens: Counts the tokens of a list of texts.

    Returns:
        The verdict; ``valid`` is False when there is any error.
    """
    errors = check_format(example)
    if errors:
        return ValidationResult(line=line, valid=False, errors=errors)
    quality_errors, warnings, tokens = check_quality(example["messages"], params, count_tokens)
    return ValidationResult(
        line=line, valid=not quality_errors, errors=quality_errors, warnings=warnings, token_count=tokens
    )


def validate_jsonl(
    path: Path, params: ValidateParams, count_tokens: TokenCounter, acc: Accounting
) -> Iterator[dict[str, Any]]:
    """One verdict (``line / valid / errors / warnings``) per line of a chat JSONL file, counted in ``acc``.

    A line that is not JSON is invalid with the code ``empty_line`` or ``invalid_json``; every
    invalid line is counted (stage ``validate``) under its first error code.
    """
    for row in read_objects(path):
        if row.error in ("empty_line", "invalid_json"):
            verdict = {
                "line": row.line,
                "valid": False,
                "errors": [{"code": row.error, "message": "not a JSON object"}],
                "warnings": [],
            }
        else:
            result = validate_example(row.value, row.line, params, count_tokens)
            verdict = result.model_dump(include={"line", "valid", "errors", "warnings"})
        acc.check("validate", KEEP if verdict["valid"] else (False, verdict["errors"][0]["code"]))
        yield verdict
