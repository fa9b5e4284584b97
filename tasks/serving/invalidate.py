"""Cache invalidation from the ingestion diff and from model-version changes."""

from __future__ import annotations

from pathlib import Path

from schemas.cache import InvalidationReport
from schemas.corpus import CorpusDiff
from tasks.ingest import versions
from tasks.serving.store import CacheStore


def affected_documents(diff: CorpusDiff) -> list[str]:
    """Documents whose cached answers are stale: changed or removed (added ones were never cited)."""
    return sorted(set(diff.changed) | set(diff.removed))


def invalidate_corpus(store: CacheStore, root: Path, from_version: str, to_version: str) -> InvalidationReport:
    """Delete exactly the entries depending on documents changed or removed between two versions.

    Raises:
        versions.VersionNotFound: when either version was never published.
    """
    diff = versions.diff_versions(root, from_version, to_version)
    deleted = store.delete_for_documents(affected_documents(diff))
    return InvalidationReport(
        from_version=from_version, to_version=to_version, changed_documents=len(diff.changed),
        removed_documents=len(diff.removed), deleted_for_documents=deleted,
    )


def invalidate_model(store: CacheStore, model: str, model_version: str | None) -> InvalidationReport:
    """Drop ``model``'s entries cached with any other model version than ``model_version``."""
    deleted = store.delete_for_model(model, model_version)
    return InvalidationReport(model=model, model_version=model_version, deleted_for_model=deleted)
