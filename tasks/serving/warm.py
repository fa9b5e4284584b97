"""The cache warm set: entries built from logged calls that are safe and worth serving again.

A log becomes an entry only when the call was deterministic (temperature 0) and rated positively;
its response is PII-redacted with the dataset flow's redaction before it is stored. Every other
log, and every log line that cannot be read, is counted under ``dropped_<reason>`` by the shared
accounting (``tasks.common.accounting``): ``total == kept + sum(dropped_*)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from schemas.cache import CacheEntry, CacheKeyRequest, CacheMessage, RetrievedDocument
from schemas.logs import LLMInteractionLog
from schemas.params import RedactParams, ServingParams
from tasks.common.accounting import KEEP, Accounting
from tasks.dataset.read import RawLine, find_log_files, iter_raw_lines, parse_log_line
from tasks.pii.redact import redact_strings
from tasks.serving.cache_key import cache_key


READ_STAGE = "read"
WARM_STAGES = (READ_STAGE, "warm", "key")
"""The warm set's stages in order: lines -> valid logs -> cacheable calls -> one entry a key."""


def read_logs(logs_dir: Path, acc: Accounting | None = None) -> Iterator[LLMInteractionLog]:
    """Every valid log under ``logs_dir``; each bad line is counted (stage ``read``) and its record sunk.

    Args:
        logs_dir: The logs folder.
        acc: Where a line that is not a valid log is counted under its reason (``invalid_json``,
            ``schema_invalid``, ...) with its ``RejectedRecord`` (no content); a fresh one if None.
    """
    acc = acc if acc is not None else Accounting()
    for path in find_log_files(logs_dir):
        for raw in iter_raw_lines(path, logs_dir):
            parsed = parse_log_line(raw) if isinstance(raw, RawLine) else raw
            if isinstance(parsed, LLMInteractionLog):
                acc.check(READ_STAGE, KEEP)
                yield parsed
            else:
                acc.check(READ_STAGE, (False, parsed.reason), lambda _, record=parsed: record)


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


def _dropped_log(log: LLMInteractionLog, stage: str, reason: str) -> dict[str, str]:
    return {"stage": stage, "reason": reason, "request_id": log.request_id}


def build_warm_set(
    logs: Sequence[LLMInteractionLog] | Iterable[LLMInteractionLog],
    params: ServingParams,
    redact: RedactParams,
    now: datetime,
    acc: Accounting | None = None,
) -> WarmSet:
    """Cache entries for the logs that pass ``warm_decision``, responses redacted, one per key.

    Args:
        logs: Validated logs, in input order (the last log of a key wins); may be ``read_logs``.
        params: Serving params (positive feedback values, TTL).
        redact: The dataset flow's redaction params (``dataset.redact`` in params.yaml).
        now: ``created_at`` of every entry.
        acc: The accounting (the one ``read_logs`` counted into, so bad lines are in the totals).

    Returns:
        The entries and ``total / kept / dropped_<reason> / pii_<entity>`` counts.
    """
    acc = acc if acc is not None else Accounting()
    result = WarmSet()
    chosen: dict[str, tuple[LLMInteractionLog, CacheKeyRequest]] = {}
    for log in logs:
        decision = warm_decision(log, params.cache.positive_feedback)
        request = log_request(log) if decision[0] else None
        key = cache_key(request).key if request else None
        if decision[0] and key is None:
            decision = (False, "no_key")
        if not acc.check("warm", decision, lambda reason, log=log: _dropped_log(log, "warm", reason)):
            continue
        replaced = chosen.get(key)
        acc.check("key", KEEP)
        if replaced is not None:  # the later call of a key wins; the earlier one is the duplicate
            acc.dropped("key", "duplicate_key", _dropped_log(replaced[0], "key", "duplicate_key"))
        chosen[key] = (log, request)
    redacted, pii = redact_strings([log.response for log, _ in chosen.values()], redact)
    result.counts.update(acc.ledger.flat_over(WARM_STAGES))
    result.counts.update({f"pii_{entity}": count for entity, count in pii.items()})
    for (key, (log, request)), response in zip(chosen.items(), redacted):
        result.entries.append(CacheEntry(
            key=key, response=response, model=log.model, model_version=log.model_version,
            corpus_version=request.corpus_version, doc_ids=tuple(sorted({d.id for d in request.retrieved_documents})),
            created_at=now, ttl=params.cache.ttl_seconds or None, source_request_id=log.request_id,
        ))
    if result.counts["kept"] != len(result.entries):
        raise RuntimeError(f"warm accounting does not balance: {dict(result.counts)} vs {len(result.entries)} entries")
    return result


def warm_set_from_folder(
    logs_dir: Path, params: ServingParams, redact: RedactParams, now: datetime, acc: Accounting | None = None
) -> WarmSet:
    """``build_warm_set`` over every line of ``logs_dir``: unreadable lines count as ``dropped_<reason>``."""
    acc = acc if acc is not None else Accounting()
    return build_warm_set(read_logs(logs_dir, acc), params, redact, now, acc)
