"""The serving side's Prefect tasks: the retrieval gate, cache invalidation and the regression sets.

Thin wrappers: the logic lives in ``gate.py``, ``invalidate.py`` and ``regression.py`` beside this
file. The flows (``ingest-and-gate``, ``nightly``) run them as tasks; the CLI calls ``.fn``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.cache import InvalidationReport
from schemas.gate import GateResult
from schemas.params import DatasetParams, GateParams, IndexParams, ServingParams
from tasks.serving.gate import run_gate
from tasks.serving.invalidate import invalidate_corpus
from tasks.serving.regression import regression_set_from_folder
from tasks.serving.store import open_store


@task(name="retrieval-gate", cache_policy=NO_CACHE)
def retrieval_gate(index: IndexParams, gate: GateParams, version: str) -> GateResult:
    """Judge ``version`` on the retrieval set and move CURRENT accordingly (see ``run_gate``)."""
    return run_gate(index, gate, version)


@task(name="invalidate-cache", cache_policy=NO_CACHE)
def invalidate_cache(serving: ServingParams, root: Path, from_version: str, to_version: str) -> InvalidationReport:
    """Delete the cache entries citing documents changed or removed between two corpus versions."""
    store = open_store(serving.cache)
    try:
        return invalidate_corpus(store, root, from_version, to_version)
    finally:
        if hasattr(store, "close"):
            store.close()


@task(name="build-regression-sets", cache_policy=NO_CACHE, persist_result=False)
def build_regression_sets(logs_dir: str, serving: ServingParams, dataset: DatasetParams) -> dict[str, int]:
    """Rebuild the regression sets under ``serving.regression.out_root/<name>/`` from the logs, redacted as
    the dataset build redacts (``dataset.redact``), without the users on ``dataset.forget.deny_list``.

    Returns:
        The set's ``total / kept / dropped_<reason>`` counts (as written to its manifest).

    Raises:
        FileNotFoundError: when the logs folder does not exist.
    """
    folder = Path(logs_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"logs folder not found: {folder}")
    _, manifest = regression_set_from_folder(folder, serving, dataset, datetime.now(timezone.utc))
    return dict(manifest.counts)
