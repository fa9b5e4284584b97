"""The raw LLM interaction log: one line of the product's JSONL logs, one LLM call.

Fields follow the ``LLMInteractionLog`` of *Backend Engineering for AI* (request identity, model
configuration, prompt components, RAG context, assembled prompt, response, timing, outcome),
plus the optional fields the dataset flow uses: prompt template id and version, model version,
a task ``category`` (the stratification label) and ``tools`` / ``tool_calls``.

The record requires only what a training example or a cache entry is built from: the request
identity (``request_id``, ``timestamp``), the model and its call settings, the messages
(system prompt, user message, history) and the response. Telemetry (the assembled prompt
``full_prompt``, token counts, latencies, retrieval scores) is validated when present and may be
null or missing: real exports often do not log the assembled prompt or the end-to-end latency,
and their absence must never cost a training example.

The record is strict on types (a string where a number belongs is an error, not a coercion), and
keeps unknown fields (``extra="allow"``) so that newer log producers do not break older readers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ChatRole = Literal["system", "user", "assistant", "tool", "function", "developer"]


class HistoryTurn(BaseModel):
    """One earlier turn of the conversation, as the product logged it."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    role: ChatRole
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    name: str | None = None
    tool_call_id: str | None = None


class LLMInteractionLog(BaseModel):
    """Complete record of one LLM interaction, validated when a log line is read.

    Required: the request identity, model configuration, prompt components and response.
    Optional (``None`` when absent or null, validated when present): telemetry (assembled prompt,
    token counts, latencies, retrieval scores), the user, RAG context, feedback, the quality
    score and the dataset flow's extra fields.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    # Request identity
    request_id: str = Field(min_length=1)
    timestamp: datetime
    user_id: str | None = None

    # Model configuration
    model: str = Field(min_length=1)
    model_version: str | None = None
    temperature: float = Field(ge=0)
    max_tokens: int = Field(ge=1)

    # Prompt components
    system_prompt: str
    user_message: str
    conversation_history: list[HistoryTurn] = Field(default_factory=list)
    prompt_template_id: str | None = None
    prompt_template_version: str | None = None

    # RAG context
    retrieval_query: str | None = None
    retrieved_documents: list[dict[str, Any]] | None = None
    retrieval_scores: list[float] | None = None

    # Assembled prompt (what actually went to the API): telemetry
    full_prompt: str | None = None
    prompt_token_count: int | None = Field(None, ge=0)

    # Response
    response: str
    completion_token_count: int | None = Field(None, ge=0)
    tools: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None

    # Timing: telemetry
    retrieval_latency_ms: float | None = Field(None, ge=0)
    llm_latency_ms: float | None = Field(None, ge=0)
    total_latency_ms: float | None = Field(None, ge=0)

    # Outcome (filled later via feedback)
    user_feedback: str | None = None
    automated_quality_score: float | None = None

    # Task label used to stratify the split
    category: str | None = None
