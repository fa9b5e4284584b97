"""The cache warm set: entries built from logged calls that are safe and worth serving again.

A log becomes an entry only when the call was deterministic (temperature 0) and rated positively;
its response is PII-redacted with the dataset flow's redaction before it is stored. Every other
log is counted under ``dropped_<reason>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from schemas.cache import CacheEntry, CacheKeyRequest, CacheMessage, RetrievedDocument
from schemas.logs import LLMInteractionLog
from schemas.params import RedactParams, ServingParams
from tasks.dataset.read import find_log_files, iter_raw_lines, parse_log_line, RawLine
from tasks.pii.redact import redact_strings
from tasks.serving.cache_key import cache_key


def read_logs(logs_dir: Path) -> Iterator[LLMInteractionLog]:
    """Every valid log under ``logs_dir`` (bad lines are the dataset flow's business; skipped here)."""
    for path in find_log_files(logs_dir):
        for raw in iter_raw_lines(path, logs_dir):
            parsed = parse_log_line(raw) if isinstance(raw, RawLine) else raw
            if isinstance(parsed, LLMInteractionLog):
                yield parsed


def log_documents(log: LLMInteractionLog) -> list[RetrievedDocument]:
    """The retrieved documents a log names (``id`` or ``doc_id``, with ``content_hash``)."""
    documents = []
    for doc in log.retrieved_documents or []:
        doc_id = doc.get("id") or doc.get("doc_id")
        if doc_id:
            documents.append(RetrievedDocument(id=str(doc_id), content_hash=str(doc.get("content_hash") or "")))
    return documents


def log_request(log: LLMInteractionLog) -> CacheKeyRequest:
    """The cache-key request of a logged call: history plus the user message, as sent."""
    history = [CacheMessage(role=turn.role, content=turn.content or "", name=turn.name) for turn in log.conversation_history]
    extra = log.model_extra or {}
    return CacheKeyRequest(
        model=log.model, model_version=log.model_version, prompt_template_id=log.prompt_template_id,
        prompt_template_version=log.prompt_template_version, system_prompt=log.system_prompt,
        temperature=log.temperature, messages=[*history, CacheMessage(role="user", content=log.user_message)],
        corpus_version=extra.get("corpus_version"), retrieved_documents=log_documents(log),
    )


def warm_decision(log: LLMInteractionLog, positive_feedback: Sequence[str]) -> tuple[bool, str | None]:
    """``(keep, reason)``: only deterministic, positively rated calls are cached."""
    if log.temperature != 0:
        return False, "not_deterministic"
    if log.user_feedback not in positive_feedback:
        return False, "not_positively_rated"
    return True, None


@dataclass
class WarmSet:
    """Entries to load into the cache, and the count of every drop reason."""

    entries: list[CacheEntry] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def build_warm_set(logs: Sequence[LLMInteractionLog], params: ServingParams, redact: RedactParams, now: datetime) -> WarmSet:
    """Cache entries for the logs that pass ``warm_decision``, responses redacted, one per key.

    Args:
        logs: Validated logs, in input order (the last log of a key wins).
        params: Serving params (positive feedback values, TTL).
        redact: The dataset flow's redaction params (``dataset.redact`` in params.yaml).
        now: ``created_at`` of every entry.

    Returns:
        The entries and ``total / kept / dropped_<reason> / pii_<entity>`` counts.
    """
    result = WarmSet(counts=Counter(total=len(logs)))
    chosen: dict[str, tuple[LLMInteractionLog, CacheKeyRequest]] = {}
    for log in logs:
        keep, reason = warm_decision(log, params.cache.positive_feedback)
        request = log_request(log) if keep else None
        key = cache_key(request).key if request else None
        if keep and key is None:
            keep, reason = False, "no_key"
        if not keep:
            result.counts[f"dropped_{reason}"] += 1
            continue
        if key in chosen:
            result.counts["dropped_duplicate_key"] += 1
        chosen[key] = (log, request)
    redacted, pii = redact_strings([log.response for log, _ in chosen.values()], redact)
    result.counts.update({f"pii_{entity}": count for entity, count in pii.items()})
    for (key, (log, request)), response in zip(chosen.items(), redacted):
        result.entries.append(CacheEntry(
            key=key, response=response, model=log.model, model_version=log.model_version,
            corpus_version=request.corpus_version, doc_ids=tuple(sorted({d.id for d in request.retrieved_documents})),
            created_at=now, ttl=params.cache.ttl_seconds or None, source_request_id=log.request_id,
        ))
    result.counts["kept"] = len(result.entries)
    return result
