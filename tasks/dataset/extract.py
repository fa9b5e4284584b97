"""Turning a log into a chat example (system, history, user, assistant) with its lineage."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams
from tasks.dataset.select import log_language, user_hash


def content_id(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """sha256 of the example's canonical JSON: the same conversation gets the same id."""
    canonical = json.dumps({"messages": messages, "tools": tools}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def group_hash(key: str, salt: str) -> str:
    """Salted sha256 of the split group key."""
    return hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()


def log_to_messages(log: LLMInteractionLog) -> list[ChatMessage]:
    """system prompt, earlier turns, the user message and the assistant's reply, in order."""
    messages: list[ChatMessage] = []
    if log.system_prompt.strip():
        messages.append(ChatMessage(role="system", content=log.system_prompt))
    for turn in log.conversation_history:
        messages.append(
            ChatMessage(
                role=turn.role,
                content=turn.content,
                tool_calls=turn.tool_calls,
                name=turn.name,
                tool_call_id=turn.tool_call_id,
            )
        )
    messages.append(ChatMessage(role="user", content=log.user_message))
    reply = log.response if (log.response or not log.tool_calls) else None
    messages.append(ChatMessage(role="assistant", content=reply, tool_calls=log.tool_calls or None))
    return messages


def log_to_example(log: LLMInteractionLog, source: str, line: int, params: DatasetParams) -> ChatExample:
    """Build the chat example of one selected log.

    Args:
        log: The validated, selected log.
        source: Log file relative to the logs folder.
        line: 1-based line number.
        params: The dataset params (split group key and salts).

    Returns:
        The example, with lineage, category, group and user hashes.
    """
    messages = log_to_messages(log)
    tools = log.tools or None
    key = log.user_id if (params.split.group_key == "user_id" and log.user_id) else log.request_id
    return ChatExample(
        example_id=content_id([m.to_openai() for m in messages], tools),
        messages=tuple(messages),
        tools=tools,
        category=log.category or "uncategorized",
        language=log_language(log),
        group_hash=group_hash(key, params.split.salt),
        user_hash=user_hash(log.user_id, params.forget.user_hash_salt) if log.user_id else None,
        timestamp=log.timestamp,
        quality_score=log.automated_quality_score,
        lineage=Lineage(request_id=log.request_id, source=source, line=line),
    )
