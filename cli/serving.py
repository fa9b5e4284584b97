"""CLI commands for the serving side: ``cache-key``, ``cache-warm``, ``invalidate``, ``eval-retrieval``, ``build-regression``."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from cli.options import DbOption, JsonOption, ParamsOption, TableOption, fail, index_overrides, params_or_fail
from schemas.params import DatasetParams, IngestParams, ServingParams

BackendOption = Annotated[Optional[str], typer.Option("--backend", help="file or redis (default: params serving.cache.backend).")]
RedisUrlOption = Annotated[Optional[str], typer.Option("--redis-url", help="Redis URL for --backend redis.")]
CachePathOption = Annotated[Optional[str], typer.Option("--cache-file", help="sqlite3 file for --backend file.")]
LogsDirOption = Annotated[Optional[str], typer.Option("--logs-dir", help="Logs folder (default: params dataset.logs_dir).")]


def cache_overrides(backend: str | None, redis_url: str | None, cache_file: str | None) -> dict:
    """The cache options as serving overrides."""
    return {"cache": {"backend": backend, "redis_url": redis_url, "path": cache_file}}


def logs_folder(logs_dir: str | None, dataset: DatasetParams) -> Path:
    """The logs folder a serving command reads (``dataset.logs_dir`` unless given); exits 2 when missing."""
    folder = Path(logs_dir or dataset.logs_dir)
    if not folder.is_dir():
        fail(f"logs folder not found: {folder}")
    return folder


def cache_key_command(
    request: Annotated[Path, typer.Option("--request", help="JSON file with the call (log schema names).")],
) -> None:
    """Print the cache key of a call, or exit 1 with the reason it gets none."""
    from schemas.cache import CacheKeyRequest
    from tasks.serving.cache_key import cache_key

    try:
        parsed = CacheKeyRequest.model_validate_json(request.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as error:
        fail(f"{request}: {error}")
    result = cache_key(parsed)
    if result.key is None:
        typer.echo(f"no key: {result.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(result.key)


def cache_warm(
    logs_dir: LogsDirOption = None,
    backend: BackendOption = None,
    redis_url: RedisUrlOption = None,
    cache_file: CachePathOption = None,
    as_json: JsonOption = False,
    params_file: ParamsOption = None,
) -> None:
    """Load the warm set (deterministic, positively rated, redacted logged calls) into the cache."""
    from tasks.serving.store import open_store
    from tasks.serving.warm import warm_set_from_folder

    params = params_or_fail(ServingParams, cache_overrides(backend, redis_url, cache_file), params_file)
    dataset = params_or_fail(DatasetParams, path=params_file)
    folder = logs_folder(logs_dir, dataset)
    with contextlib.redirect_stdout(sys.stderr):
        warm = warm_set_from_folder(folder, params, dataset, datetime.now(timezone.utc))
    store = open_store(params.cache)
    try:
        store.put_many(warm.entries)
    finally:
        store.close()
    counts = dict(sorted(warm.counts.items()))
    typer.echo(json.dumps(counts) if as_json else ", ".join(f"{k} {v}" for k, v in counts.items()))


def invalidate(
    from_version: Annotated[Optional[str], typer.Option("--from", help="Corpus version the cache was built on.")] = None,
    to_version: Annotated[Optional[str], typer.Option("--to", help="New corpus version.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Drop this model's entries of other versions.")] = None,
    model_version: Annotated[Optional[str], typer.Option("--model-version", help="The model version to keep (with --model).")] = None,
    backend: BackendOption = None,
    redis_url: RedisUrlOption = None,
    cache_file: CachePathOption = None,
    db: DbOption = None,
    table: TableOption = None,
    as_json: JsonOption = False,
    params_file: ParamsOption = None,
) -> None:
    """Delete the cache entries that depend on documents changed or removed between two versions."""
    from tasks.ingest import versions
    from tasks.serving.invalidate import invalidate_corpus, invalidate_model
    from tasks.serving.store import open_store

    if (from_version is None) != (to_version is None) or (from_version is None and model is None):
        fail("give --from and --to, or --model (or both)")
    params = params_or_fail(ServingParams, cache_overrides(backend, redis_url, cache_file), params_file)
    store = open_store(params.cache)
    report: dict = {}
    try:
        if from_version is not None:
            root = versions.manifest_root(params_or_fail(IngestParams, index_overrides(db, table), params_file).index)
            report.update(invalidate_corpus(store, root, from_version, to_version).model_dump(exclude_defaults=True))
    except versions.VersionNotFound as error:
        fail(str(error))
    if model is not None:
        report.update(invalidate_model(store, model, model_version).model_dump(exclude_defaults=True))
    report["remaining"] = len(store.keys())
    typer.echo(json.dumps(report) if as_json else ", ".join(f"{k} {v}" for k, v in report.items()))


def eval_retrieval(
    version: Annotated[Optional[str], typer.Option("--version", help="Corpus version to judge (default: CURRENT).")] = None,
    against: Annotated[Optional[str], typer.Option("--against", help="Baseline version (default: last good ancestor).")] = None,
    k: Annotated[Optional[int], typer.Option("--k", min=1, max=1000, help="Cut-off for recall@k and MRR.")] = None,
    retrieval_set: Annotated[Optional[str], typer.Option("--set", help="Retrieval set JSONL, or a BEIR folder (queries.jsonl + qrels/test.tsv).")] = None,
    tolerance: Annotated[Optional[float], typer.Option("--tolerance", help="Allowed relative drop per metric.")] = None,
    warn_only: Annotated[Optional[bool], typer.Option("--warn-only/--block", help="Never hold CURRENT back.")] = None,
    record: Annotated[bool, typer.Option("--record/--no-record", help="--no-record: evaluate only (CURRENT untouched, no decision kept).")] = True,
    db: DbOption = None,
    table: TableOption = None,
    as_json: JsonOption = False,
    params_file: ParamsOption = None,
) -> None:
    """Evaluate a corpus version on the retrieval set; hold CURRENT back when it regresses."""
    from tasks.ingest import versions
    from tasks.serving.gate import run_gate

    overrides = {"k": k, "retrieval_set": retrieval_set, "tolerance": tolerance, "warn_only": warn_only}
    gate = params_or_fail(ServingParams, {"gate": overrides}, params_file).gate
    index = params_or_fail(IngestParams, index_overrides(db, table), params_file).index
    try:
        version = versions.resolve_version(versions.manifest_root(index), version)
        with contextlib.redirect_stdout(sys.stderr):
            result = run_gate(index, gate, version, against, record=record)
    except (versions.VersionNotFound, FileNotFoundError, ValueError) as error:
        fail(str(error))
    if as_json:
        typer.echo(result.model_dump_json())
        return
    typer.echo(Path(result.report).read_text(encoding="utf-8"))


def build_regression(
    logs_dir: LogsDirOption = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Set name (default: params serving.regression.name).")] = None,
    out_root: Annotated[Optional[str], typer.Option("--out-root", help="Sets are written to OUT_ROOT/NAME/.")] = None,
    as_json: JsonOption = False,
    params_file: ParamsOption = None,
) -> None:
    """Rebuild the regression sets (LLM cases and retrieval cases) from the logs (the nightly's task)."""
    from tasks.serving.prefect_tasks import build_regression_sets

    params = params_or_fail(ServingParams, {"regression": {"name": name, "out_root": out_root}}, params_file)
    dataset = params_or_fail(DatasetParams, path=params_file)
    folder = logs_folder(logs_dir, dataset)
    with contextlib.redirect_stdout(sys.stderr):
        counts = build_regression_sets.fn(str(folder), params, dataset)
    out = Path(params.regression.out_root) / params.regression.name
    typer.echo(json.dumps({"out": str(out), **counts}) if as_json else f"{out}: {counts}")


COMMANDS = {
    "cache-key": cache_key_command,
    "cache-warm": cache_warm,
    "invalidate": invalidate,
    "eval-retrieval": eval_retrieval,
    "build-regression": build_regression,
}

if __name__ == "__main__":
    from cli.app import make_app

    make_app(COMMANDS)()
