"""Selecting which logs become examples: quality, feedback, model, date range, forgotten users.

Each check returns ``(keep, reason)``; a dropped log is counted as ``filtered`` with its reason.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from schemas.logs import LLMInteractionLog
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
    if log.user_id is not None and user_hash(log.user_id, user_salt) in denied_user_hashes:
        return False, "forgotten_user"
    if params.models and log.model not in params.models:
        return False, "model_not_allowed"
    score = log.automated_quality_score
    if score is None and params.drop_unscored:
        return False, "unscored"
    if score is not None and params.min_quality_score is not None and score < params.min_quality_score:
        return False, "low_quality"
    if log.user_feedback is not None and log.user_feedback in params.exclude_feedback:
        return False, "negative_feedback"
    since, until, when = parse_bound(params.since), parse_bound(params.until), _as_utc(log.timestamp)
    if since is not None and when < since:
        return False, "before_date_range"
    if until is not None and when >= until:
        return False, "after_date_range"
    return True, None
