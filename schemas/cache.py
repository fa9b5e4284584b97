"""Serving-side cache records: the request a cache key is computed from, and a cached entry.

The request uses the log schema's names (``schemas/logs.py``), so a serving app can build it from
the same fields it logs. The key algorithm itself lives in ``tasks/serving/cache_key.py``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrievedDocument(_Record):
    """A document the RAG step put into the prompt: its id and the sha256 of its content."""

    id: str = Field(min_length=1, description="Document id, as in the corpus manifest (path relative to the source).")
    content_hash: str = Field(min_length=1, description="The document's content hash in that corpus version.")


class CacheMessage(_Record):
    """One chat message of the request (system prompt excluded: it has its own field)."""

    role: str = Field(min_length=1)
    content: str
    name: str | None = None


class CacheKeyRequest(_Record):
    """Everything that decides an LLM response, and so everything a cache key must cover.

    ``temperature`` is not part of the key: only ``temperature == 0`` gets a key at all.
    """

    model: str = Field(min_length=1)
    model_version: str | None = None
    prompt_template_id: str | None = None
    prompt_template_version: str | None = None
    system_prompt: str = ""
    temperature: float = Field(ge=0)
    messages: list[CacheMessage] = Field(min_length=1)
    corpus_version: str | None = None
    retrieved_documents: list[RetrievedDocument] = Field(default_factory=list)


class CacheKeyResult(_Record):
    """A key, or the reason the call gets none."""

    key: str | None
    reason: str | None = None


class CacheEntry(_Record):
    """One cached response with what it depends on (for invalidation) and its time to live."""

    key: str
    response: str
    model: str
    model_version: str | None = None
    corpus_version: str | None = None
    doc_ids: tuple[str, ...] = ()
    created_at: datetime
    ttl: int | None = Field(None, ge=1, description="Seconds to live; empty: never expires.")
    source_request_id: str | None = None
    user_hash: str | None = Field(
        None, description="Salted hash of the requesting user (dataset.forget salt), so forget finds the entry; never the raw id."
    )


class InvalidationReport(_Record):
    """What an invalidation run deleted, and why."""

    from_version: str | None = None
    to_version: str | None = None
    changed_documents: int = 0
    removed_documents: int = 0
    deleted_for_documents: int = 0
    model: str | None = None
    model_version: str | None = None
    deleted_for_model: int = 0
    remaining: int = 0
