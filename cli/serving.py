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

from cli.ingest import DbOption, JsonOption, TableOption, fail, ingest_params
from schemas.params import CacheParams, DatasetParams, ServingParams, load_params
from tasks.serving.store import CacheStore, RedisCacheStore, SqliteCacheStore

BackendOption = Annotated[Optional[str], typer.Option("--backend", help="file or redis (default from params.yaml).")]
RedisUrlOption = Annotated[Optional[str], typer.Option("--redis-url", help="Redis URL for --backend redis.")]
CachePathOption = Annotated[Optional[str], typer.Option("--cache-file", help="sqlite3 file for --backend file.")]


def serving_params(**cache_overrides: str | None) -> ServingParams:
    """``params.yaml``'s serving section with the command line's cache overrides (None = keep)."""
    params = load_params("serving", ServingParams)
    overrides = {key: value for key, value in cache_overrides.items() if value is not None}
    cache = CacheParams.model_validate({**params.cache.model_dump(), **overrides})
    return params.model_copy(update={"cache": cache})


def open_store(cache: CacheParams) -> CacheStore:
    """The configured cache backend."""

    return RedisCacheStore.from_url(cache.redis_url) if cache.backend == "redis" else SqliteCacheStore(cache.path)


def register(app: typer.Typer) -> None:
    """Attach the serving commands to the CLI."""

    @app.command("cache-key")
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

    @app.command("cache-warm")
    def cache_warm(
        logs_dir: Annotated[Optional[str], typer.Option("--logs-dir", help="Logs folder (default from params.yaml).")] = None,
        backend: BackendOption = None,
        redis_url: RedisUrlOption = None,
        cache_file: CachePathOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Load the warm set (deterministic, positively rated, redacted logged calls) into the cache."""
        from tasks.serving.warm import build_warm_set, read_logs

        try:
            params = serving_params(backend=backend, redis_url=redis_url, path=cache_file)
        except ValidationError as error:
            fail(str(error))
        folder = Path(logs_dir or params.logs_dir)
        if not folder.is_dir():
            fail(f"logs folder not found: {folder}")
        with contextlib.redirect_stdout(sys.stderr):
            redact = load_params("dataset", DatasetParams).redact
            warm = build_warm_set(list(read_logs(folder)), params, redact, datetime.now(timezone.utc))
        store = open_store(params.cache)
        for entry in warm.entries:
            store.put(entry)
        counts = dict(sorted(warm.counts.items()))
        typer.echo(json.dumps(counts) if as_json else ", ".join(f"{k} {v}" for k, v in counts.items()))

    @app.command()
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
    ) -> None:
        """Delete the cache entries that depend on documents changed or removed between two versions."""
        from tasks.ingest import versions
        from tasks.serving.invalidate import invalidate_corpus, invalidate_model

        if (from_version is None) != (to_version is None) or (from_version is None and model is None):
            fail("give --from and --to, or --model (or both)")
        try:
            params = serving_params(backend=backend, redis_url=redis_url, path=cache_file)
        except ValidationError as error:
            fail(str(error))
        store = open_store(params.cache)
        report: dict = {}
        try:
            if from_version is not None:
                root = versions.manifest_root(ingest_params(db=db, table=table).index)
                report.update(invalidate_corpus(store, root, from_version, to_version).model_dump(exclude_defaults=True))
        except versions.VersionNotFound as error:
            fail(str(error))
        if model is not None:
            report.update(invalidate_model(store, model, model_version).model_dump(exclude_defaults=True))
        report["remaining"] = len(store.keys())
        typer.echo(json.dumps(report) if as_json else ", ".join(f"{k} {v}" for k, v in report.items()))

    @app.command("eval-retrieval")
    def eval_retrieval(
        version: Annotated[Optional[str], typer.Option("--version", help="Corpus version to judge (default: CURRENT).")] = None,
        against: Annotated[Optional[str], typer.Option("--against", help="Baseline version (default: last good ancestor).")] = None,
        k: Annotated[Optional[int], typer.Option("--k", min=1, max=1000, help="Cut-off for recall@k and MRR.")] = None,
        retrieval_set: Annotated[Optional[str], typer.Option("--set", help="Retrieval set JSONL.")] = None,
        tolerance: Annotated[Optional[float], typer.Option("--tolerance", help="Allowed relative drop per metric.")] = None,
        warn_only: Annotated[Optional[bool], typer.Option("--warn-only/--block", help="Never hold CURRENT back.")] = None,
        record: Annotated[bool, typer.Option("--record/--no-record", help="--no-record: evaluate only (CURRENT untouched, no decision kept).")] = True,
        db: DbOption = None,
        table: TableOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Evaluate a corpus version on the retrieval set; hold CURRENT back when it regresses."""
        from schemas.params import GateParams
        from tasks.ingest import versions
        from tasks.serving.gate import run_gate

        overrides = {"k": k, "retrieval_set": retrieval_set, "tolerance": tolerance, "warn_only": warn_only}
        try:
            base = load_params("serving", ServingParams).gate
            gate = GateParams.model_validate({**base.model_dump(), **{n: v for n, v in overrides.items() if v is not None}})
            index = ingest_params(db=db, table=table).index
        except ValidationError as error:
            fail(str(error))
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

    @app.command("build-regression")
    def build_regression(
        logs_dir: Annotated[Optional[str], typer.Option("--logs-dir", help="Logs folder (default from params.yaml).")] = None,
        name: Annotated[Optional[str], typer.Option("--name", help="Set name (default from params.yaml).")] = None,
        out_root: Annotated[Optional[str], typer.Option("--out-root", help="Sets are written to OUT_ROOT/NAME/.")] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Rebuild the regression sets (LLM cases and retrieval cases) from the logs."""
        from schemas.params import RegressionParams
        from tasks.serving.regression import build_regression_set, write_regression_set
        from tasks.serving.warm import read_logs

        try:
            params = load_params("serving", ServingParams)
            overrides = {key: value for key, value in {"name": name, "out_root": out_root}.items() if value is not None}
            regression = RegressionParams.model_validate({**params.regression.model_dump(), **overrides})
        except ValidationError as error:
            fail(str(error))
        params = params.model_copy(update={"regression": regression})
        folder = Path(logs_dir or params.logs_dir)
        if not folder.is_dir():
            fail(f"logs folder not found: {folder}")
        with contextlib.redirect_stdout(sys.stderr):
            redact = load_params("dataset", DatasetParams).redact
            cases, retrieval, counts, strata = build_regression_set(list(read_logs(folder)), params, redact)
        out = Path(regression.out_root) / regression.name
        manifest = write_regression_set(out, cases, retrieval, counts, strata, params, datetime.now(timezone.utc))
        typer.echo(json.dumps({"out": str(out), **manifest.counts}) if as_json else f"{out}: {manifest.counts}")


if __name__ == "__main__":  # python -m cli.serving: only this group's commands (the DVC stages run it)
    standalone = typer.Typer(name="tributary", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    register(standalone)
    standalone()
