"""The cache warm set: entries built from logged calls that are safe and worth serving again.

A log becomes an entry only when the call was deterministic (temperature 0), rated positively and
made by a user who is not on the forget deny-list; its response is PII-redacted exactly as the
dataset build redacts the same call (``redact_like_dataset``: the same chat example, the same
redaction function and params, so placeholders are numbered across the whole conversation) before it
is stored, with the salted hash of its user so ``forget`` can find it. Every other log, and every log
line that cannot be read, is counted under ``dropped_<reason>`` by the shared accounting
(``tasks.common.accounting``): ``total == kept + sum(dropped_*)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from schemas.cache import CacheEntry, CacheKeyRequest, CacheMessage, RetrievedDocument
from schemas.dataset import ChatExample
from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams, ServingParams
from tasks.common.accounting import KEEP, Accounting
from tasks.dataset.extract import log_to_example
from tasks.dataset.forget import read_deny_list
from tasks.dataset.read import RawLine, find_log_files, iter_raw_lines, parse_log_line
from tasks.dataset.select import user_hash
from tasks.pii.redact import redact_examples
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


SERVING_SOURCE = "serving"
"""Lineage source of the throwaway chat examples ``redact_like_dataset`` builds (never written)."""


def redact_like_dataset(logs: Sequence[LLMInteractionLog], dataset: DatasetParams) -> tuple[list[ChatExample], Counter[str]]:
    """The logs as the dataset build's chat examples (``log_to_example``), redacted by the dataset build's
    function (``redact_examples``) with its params (``dataset.redact``): one placeholder book per call."""
    examples = [log_to_example(log, SERVING_SOURCE, 1, dataset) for log in logs]
    outcome = redact_examples(examples, dataset.redact)
    return outcome.examples, outcome.pii_counts


def log_user_hash(log: LLMInteractionLog, dataset: DatasetParams) -> str | None:
    """The salted user hash the dataset, the deny-list and ``forget`` use (None without a user id)."""
    return user_hash(log.user_id, dataset.forget.user_hash_salt) if log.user_id else None


def forget_decision(log: LLMInteractionLog, dataset: DatasetParams, denied: frozenset[str]) -> tuple[bool, str | None]:
    """``(keep, reason)``: a call of a user on the deny-list is dropped as ``forgotten_user``."""
    hashed = log_user_hash(log, dataset)
    return (False, "forgotten_user") if hashed is not None and hashed in denied else KEEP


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
    dataset: DatasetParams,
    now: datetime,
    acc: Accounting | None = None,
    denied: frozenset[str] = frozenset(),
) -> WarmSet:
    """Cache entries for the logs that pass ``forget_decision`` and ``warm_decision``, responses redacted,
    one per key.

    Args:
        logs: Validated logs, in input order (the last log of a key wins); may be ``read_logs``.
        params: Serving params (positive feedback values, TTL).
        dataset: The dataset params: its redaction (``dataset.redact``) and user-hash salt.
        now: ``created_at`` of every entry.
        acc: The accounting (the one ``read_logs`` counted into, so bad lines are in the totals).
        denied: User hashes on the forget deny-list (their calls are dropped as ``forgotten_user``).

    Returns:
        The entries and ``total / kept / dropped_<reason> / pii_<entity>`` counts.
    """
    acc = acc if acc is not None else Accounting()
    result = WarmSet()
    chosen: dict[str, tuple[LLMInteractionLog, CacheKeyRequest]] = {}
    for log in logs:
        decision = forget_decision(log, dataset, denied)
        if decision[0]:
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
    redacted, pii = redact_like_dataset([log for log, _ in chosen.values()], dataset)
    result.counts.update(acc.ledger.flat_over(WARM_STAGES))
    result.counts.update({f"pii_{entity}": count for entity, count in pii.items()})
    for (key, (log, request)), example in zip(chosen.items(), redacted):
        result.entries.append(CacheEntry(
            key=key, response=example.messages[-1].content or "", model=log.model, model_version=log.model_version,
            corpus_version=request.corpus_version, doc_ids=tuple(sorted({d.id for d in request.retrieved_documents})),
            created_at=now, ttl=params.cache.ttl_seconds or None, source_request_id=log.request_id,
            user_hash=example.user_hash,
        ))
    if result.counts["kept"] != len(result.entries):
        raise RuntimeError(f"warm accounting does not balance: {dict(result.counts)} vs {len(result.entries)} entries")
    return result


def warm_set_from_folder(
    logs_dir: Path, params: ServingParams, dataset: DatasetParams, now: datetime, acc: Accounting | None = None
) -> WarmSet:
    """``build_warm_set`` over every line of ``logs_dir`` (unreadable lines count as ``dropped_<reason>``),
    honouring the deny-list ``dataset.forget.deny_list``."""
    acc = acc if acc is not None else Accounting()
    denied = read_deny_list(Path(dataset.forget.deny_list))
    return build_warm_set(read_logs(logs_dir, acc), params, dataset, now, acc, denied)
