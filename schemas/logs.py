"""The raw LLM interaction log: one line of the product's JSONL logs, one LLM call.

Fields follow the ``LLMInteractionLog`` of *Backend Engineering for AI* (request identity, model
configuration, prompt components, RAG context, assembled prompt, response, timing, outcome),
plus the optional fields the dataset flow uses: prompt template id and version, model version,
a task ``category`` (the stratification label) and ``tools`` / ``tool_calls``.

The record is strict on what is required and on types (a string where a number belongs is an
error, not a coercion), and keeps unknown fields (``extra="allow"``) so that newer log producers
do not break older readers.
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

    Required: the request identity, model configuration, prompt components, assembled prompt,
    response and total latency. Optional (``None`` when absent): the user, RAG context, the
    partial latencies, feedback, the quality score and the dataset flow's extra fields.
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

    # Assembled prompt (what actually went to the API)
    full_prompt: str
    prompt_token_count: int = Field(ge=0)

    # Response
    response: str
    completion_token_count: int = Field(ge=0)
    tools: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None

    # Timing
    retrieval_latency_ms: float | None = None
    llm_latency_ms: float | None = None
    total_latency_ms: float = Field(ge=0)

    # Outcome (filled later via feedback)
    user_feedback: str | None = None
    automated_quality_score: float | None = None

    # Task label used to stratify the split
    category: str | None = None
