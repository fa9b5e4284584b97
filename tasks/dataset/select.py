"""Selecting which logs become examples: quality, feedback, model, category, prompt template, language,
date range, forgotten users (and, over the deduplicated examples, a cap per user: ``cap_per_user``).

Each check returns ``(keep, reason)``; a dropped log is counted as ``filtered`` with its reason.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.logs import LLMInteractionLog
from tasks.dataset.language import conversation_language
from schemas.params import SelectParams


def user_hash(user_id: str, salt: str) -> str:
    """Salted sha256 of a user id: what manifests and the deny-list store instead of the id."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:32]


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_bound(value: str | None) -> datetime | None:
    """An ISO date or datetime bound as an aware datetime (naive means UTC)."""
    return None if value is None else _as_utc(datetime.fromisoformat(value))


def select_log(
    log: LLMInteractionLog, params: SelectParams, denied_user_hashes: frozenset[str], user_salt: str
) -> tuple[bool, str | None]:
    """Whether a log is used, and the reason when it is not.

    Args:
        log: The validated log.
        params: The selection params.
        denied_user_hashes: Hashes of forgotten users (from the deny-list).
        user_salt: Salt of those hashes.

    Returns:
        ``(True, None)`` to keep, else ``(False, reason)``.
    """
    return select_fields(
        SelectFields(
            user_hash=user_hash(log.user_id, user_salt) if log.user_id is not None else None,
            model=log.model,
            quality_score=log.automated_quality_score,
            user_feedback=log.user_feedback,
            timestamp=log.timestamp,
            category=log.category or "uncategorized",
            prompt_template_id=log.prompt_template_id,
            language=log_language(log) if params.languages else None,
        ),
        params,
        denied_user_hashes,
    )


def log_language(log: LLMInteractionLog) -> str:
    """The language of a log's conversation: its earlier turns, the user message and the reply."""
    turns = [(turn.role, turn.content) for turn in log.conversation_history]
    return conversation_language([*turns, ("user", log.user_message), ("assistant", log.response)])


@dataclass(frozen=True)
class SelectFields:
    """What selection reads of a log: a parsed log's fields or a pool row's columns."""

    user_hash: str | None
    model: str
    quality_score: float | None
    user_feedback: str | None
    timestamp: datetime
    category: str
    prompt_template_id: str | None
    language: str | None = None
    """ISO 639-1 code (``und`` when unsure); None: not known, so a language selection drops it."""


def select_fields(
    fields: SelectFields, params: SelectParams, denied_user_hashes: frozenset[str]
) -> tuple[bool, str | None]:
    """``select_log`` over the fields it reads (a pool row carries them, so no line is re-parsed)."""
    if fields.user_hash is not None and fields.user_hash in denied_user_hashes:
        return False, "forgotten_user"
    if params.models and fields.model not in params.models:
        return False, "model_not_allowed"
    if params.categories and fields.category not in params.categories:
        return False, "category_not_selected"
    if params.prompt_templates and fields.prompt_template_id not in params.prompt_templates:
        return False, "prompt_template_not_selected"
    if params.languages and fields.language not in params.languages:
        return False, "language_not_selected"
    score = fields.quality_score
    if score is None and params.drop_unscored:
        return False, "unscored"
    if score is not None and params.min_quality_score is not None and score < params.min_quality_score:
        return False, "low_quality"
    if fields.user_feedback is not None and fields.user_feedback in params.exclude_feedback:
        return False, "negative_feedback"
    if params.require_feedback and fields.user_feedback not in params.require_feedback:
        return False, "feedback_not_selected"
    since, until, when = parse_bound(params.since), parse_bound(params.until), _as_utc(fields.timestamp)
    if since is not None and when < since:
        return False, "before_date_range"
    if until is not None and when >= until:
        return False, "after_date_range"
    return True, None


def cap_per_user(
    indices: Sequence[int], users: Sequence[str | None], rank: Callable[[int], tuple], cap: int
) -> tuple[list[int], list[int]]:
    """At most ``cap`` of ``indices`` per user: each user's best by ``rank`` (lowest first) stay.

    Args:
        indices: The examples left after dedupe, in store order.
        users: Each example's user hash (None: no user id, never capped).
        rank: The build's keep order (highest quality, then newest).
        cap: Examples a user may contribute.

    Returns:
        ``(kept, over)``: the kept indices in their given order, and the capped ones ascending.
    """
    by_user: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        if (user := users[i]) is not None:
            by_user[user].append(i)
    over: set[int] = set()
    for members in by_user.values():
        if len(members) > cap:
            over.update(sorted(members, key=rank)[cap:])
    return [i for i in indices if i not in over], sorted(over)
