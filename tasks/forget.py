"""Forgetting a user everywhere the project keeps their data (``tributary forget``).

In this order, each step idempotent (a second call removes nothing and says so):

1. the deny-list (``dataset.forget.deny_list``): from then on every dataset build, cache warm and
   regression-set build leaves the user out (``forgotten_user``);
2. the pool rows (``tasks.dataset.pool.forget_user``; ``dataset.pool``, default ``<out_root>/_pool``);
3. the cache entries created from the user's requests, in both backends (the sqlite3 file when it
   exists; Redis when it is the configured backend or a URL is given), found by the user hash every
   entry carries;
4. the user's cases in every regression set (``serving.regression.out_root`` and
   ``dataset.decontaminate.regression_root``), rewritten atomically with their manifest recounted;
5. the DVC versions that still hold the user, listed from the git history (``tasks.dataset.dvc_history``);
   purging their objects is a separate, confirmed step (``purge_dvc``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from schemas.forget import ForgetReport
from schemas.params import CacheParams, DatasetParams, ServingParams
from tasks.dataset import dvc_history
from tasks.dataset.forget import add_to_deny_list, versions_containing
from tasks.dataset.pool import forget_user as forget_pool_user
from tasks.dataset.select import user_hash
from tasks.serving.regression import forget_user_cases, regression_set_folders
from tasks.serving.store import RedisCacheStore, SqliteCacheStore

def forget_pool_rows(pool_uri: str | None, hashed: str) -> int | None:
    """Rows of the user removed from the pool (0 when it holds none or does not exist yet); None without a pool URI."""
    if pool_uri is None:
        return None
    return forget_pool_user(pool_uri, hashed)


def forget_cache_entries(cache: CacheParams, hashed: str, redis: bool) -> tuple[dict[str, int | None], list[str]]:
    """Entries of the user removed from the sqlite3 file (when it exists) and from Redis (when ``redis``).

    Returns:
        The counts by backend, and the errors: a Redis that cannot be reached is reported (count None),
        not raised, so the steps after this one still run and the command can fail loudly at the end.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

    removed: dict[str, int | None] = {"local": None, "redis": None}
    errors: list[str] = []
    if Path(cache.path).exists():
        local = SqliteCacheStore(cache.path)
        try:
            removed["local"] = local.delete_for_user(hashed)
        finally:
            local.close()
    if redis:
        remote = RedisCacheStore.from_url(cache.redis_url)
        try:
            removed["redis"] = remote.delete_for_user(hashed)
        except (RedisConnectionError, RedisTimeoutError) as error:
            errors.append(f"redis at {cache.redis_url}: {error}")
        finally:
            remote.close()
    return removed, errors


def forget_regression_cases(roots: list[Path], hashed: str, now: datetime) -> dict[str, dict[str, int]]:
    """Per set folder under the roots: the user's cases and retrieval cases removed (see ``forget_user_cases``)."""
    return {str(folder): forget_user_cases(folder, hashed, now).as_dict() for folder in regression_set_folders(roots)}


def forget_everywhere(
    user_id: str,
    dataset: DatasetParams,
    serving: ServingParams,
    now: datetime,
    *,
    pool_uri: str | None = None,
    redis: bool = False,
    repo_root: Path | None = None,
    remote: str | None = None,
) -> tuple[ForgetReport, dvc_history.DvcFindings | None]:
    """Forget ``user_id`` everywhere (steps 1-4 of the module doc) and list what DVC still holds (step 5).

    Args:
        user_id: The raw user id (only its salted hash is stored or reported).
        dataset: The dataset params (deny-list, salt, out_root, decontamination's regression root).
        serving: The serving params (the cache and the regression sets).
        now: When (the regression manifests' ``edited_at``).
        pool_uri: The pool to remove rows from (None: no pool).
        redis: Also remove the entries from Redis at ``serving.cache.redis_url``.
        repo_root: The git + DVC repository whose history is listed (None: not listed).
        remote: The DVC remote to read missing objects from (None: the default remote).

    Returns:
        The report, and the DVC findings (for ``purge_dvc``; None when not listed).
    """
    hashed = user_hash(user_id, dataset.forget.user_hash_salt)
    added = add_to_deny_list(Path(dataset.forget.deny_list), hashed)
    pool_rows = forget_pool_rows(pool_uri, hashed)
    cache, errors = forget_cache_entries(serving.cache, hashed, redis)
    roots = sorted({Path(serving.regression.out_root), Path(dataset.decontaminate.regression_root)})
    cases = forget_regression_cases(roots, hashed, now)
    findings = dvc_history.find_versions(repo_root, hashed, remote) if repo_root is not None else None
    report = ForgetReport(
        user_hash=hashed, deny_list=added, deny_list_path=dataset.forget.deny_list, pool_rows=pool_rows,
        cache_entries=cache, regression_cases=cases, versions=versions_containing(Path(dataset.out_root), hashed),
        dvc_versions=[v.report() for v in findings.holding] if findings else None,
        dvc_unreadable=findings.unreadable if findings else 0, dvc_remote=findings.remote if findings else None,
        purge_objects=len(findings.doomed_objects()) if findings else 0, errors=errors,
    )
    return report, findings


def purge_dvc(report: ForgetReport, repo_root: Path, findings: dvc_history.DvcFindings, remote: str | None) -> ForgetReport:
    """Delete the objects of the DVC versions that hold the user (``dvc_history.purge``); the report with the counts."""
    return report.model_copy(update={"purged_objects": dvc_history.purge(repo_root, findings, remote)})
