"""CLI commands for ingestion and search: ``ingest``, ``search``, ``versions``, ``diff``."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import (
    DaskAddressOption,
    DbOption,
    JsonOption,
    ParamsOption,
    RunnerOption,
    TableOption,
    WorkersOption,
    fail,
    index_overrides,
    params_or_fail,
    runner_params,
)
from schemas.params import IngestParams, ServingParams
from schemas.search import QueryLine, QueryResult, SearchMode


def ingest(
    source_dir: Annotated[Optional[str], typer.Argument(help="Folder of documents (default: params ingest.source_dir).")] = None,
    db: DbOption = None,
    table: TableOption = None,
    version_name: Annotated[Optional[str], typer.Option("--version-name", help="Name of the published version (default v1, v2, ...).")] = None,
    cleanup: Annotated[Optional[str], typer.Option("--cleanup", help="full: delete documents missing from SOURCE_DIR; incremental: keep them.")] = None,
    gate: Annotated[bool, typer.Option("--gate", help="Serve the new version only if the retrieval gate passes (params serving.gate).")] = False,
    as_json: JsonOption = False,
    runner: RunnerOption = None,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    force_flow: Annotated[bool, typer.Option(
        "--force-flow", help="Run the Prefect flow (and record a flow run) even when nothing changed.")] = False,
    params_file: ParamsOption = None,
) -> None:
    """Index SOURCE_DIR incrementally and publish a corpus version (runs the Prefect flow).

    When nothing changed since the last published version, it says so without starting the flow
    engine (no flow run is recorded; ``--force-flow`` records one). Same report, same exit code.
    """
    from tasks.common.accounting import reason_code, stage_report
    from tasks.common.flow_api import ApiStartError, serving, temporary_api
    from tasks.ingest.lock import TableLocked
    from tasks.ingest.unchanged import unchanged_report
    from tasks.ingest.versions import manifest_root

    task_runner = runner_params(runner, workers, dask_address, params_file)
    overrides = {"source_dir": source_dir, "version_name": version_name, "index": {"db": db, "table": table, "cleanup": cleanup}}
    params = params_or_fail(IngestParams, overrides, params_file)
    if not Path(params.source_dir).is_dir():
        fail(f"source folder not found: {params.source_dir}")
    if version_name and (manifest_root(params.index) / f"{version_name}.json").exists():
        fail(f"corpus version {version_name!r} is already published; pick another name")
    verdict = None
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        try:
            report = None if force_flow else unchanged_report(params)
            if report is not None:
                typer.echo(f"ingest: nothing changed since {report.version}; no flow run created (--force-flow records one)", err=True)
            else:
                with temporary_api() as api:  # its boot overlaps the imports and model loads below
                    if gate:
                        from flows.ingest_and_gate import ingest_and_gate  # imports presidio (~20 s on a loaded 2-core box)

                        gate_params = params_or_fail(ServingParams, path=params_file).gate
                        with serving(api):
                            report, verdict = ingest_and_gate(params, gate_params, task_runner)
                    else:
                        from flows.ingest import ingest_flow
                        from tasks.ingest.prefect_tasks import warm_up

                        warm_up(params, task_runner)
                        with serving(api):
                            report = ingest_flow(params, task_runner)
        except (TableLocked, ApiStartError) as error:
            fail(str(error))
    counts = stage_report("ingest", report.discovered, (reason_code(f.reason) for f in report.failed)).as_flat()
    if as_json:
        fields = {"passed", "action", "current", "baseline_version", "regressions"}
        gate_summary = {"gate": verdict.model_dump(mode="json", include=fields) if verdict else None} if gate else {}
        typer.echo(json.dumps({**report.json_summary(), "counts": counts, **gate_summary}))
        return
    summary = report.json_summary()
    typer.echo(
        f"version {summary['version']} ({'published' if report.published else 'unchanged'}): "
        f"{summary['discovered']} discovered, {summary['unchanged']} unchanged, {summary['added']} added, "
        f"{summary['changed']} changed, {summary['removed']} removed, {len(summary['failed'])} failed; "
        f"{summary['chunks_written']} chunks written"
    )
    for failure in summary["failed"]:
        typer.echo(f"  failed {failure['doc_id']}: {failure['reason']}")
    typer.echo("ingest: " + " ".join(f"{key}={value}" for key, value in counts.items()))
    if verdict is not None:
        typer.echo(f"retrieval gate: {'passed' if verdict.passed else 'REGRESSED'}, {verdict.action}; CURRENT is {verdict.current}")


def search(
    text: Annotated[Optional[str], typer.Argument(help="The query.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Results per query.")] = 10,
    db: DbOption = None,
    table: TableOption = None,
    version: Annotated[Optional[str], typer.Option("--version", help="Corpus version tag (default: CURRENT).")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="vector, fts or hybrid (default: hybrid, the measured best; see docs/benchmarks.md).")] = None,
    queries: Annotated[Optional[Path], typer.Option("--queries", help="JSONL file of {\"id\", \"text\"} lines.")] = None,
    as_json: JsonOption = False,
    params_file: ParamsOption = None,
) -> None:
    """Search a published corpus version; one query or a JSONL file of queries."""
    from tasks.ingest.queries import read_queries
    from tasks.ingest.search import DEFAULT_MODE, open_corpus
    from tasks.ingest.search import search as run_search
    from tasks.ingest.versions import VersionNotFound

    chosen: SearchMode = mode or DEFAULT_MODE  # type: ignore[assignment]
    if chosen not in ("vector", "fts", "hybrid"):
        fail(f"unknown mode {mode!r}: use vector, fts or hybrid")
    if (text is None) == (queries is None):
        fail("give either a query text or --queries FILE")
    index = params_or_fail(IngestParams, index_overrides(db, table), params_file).index
    try:
        lines = [QueryLine(id=None, text=text)] if text is not None else read_queries(queries)
        with contextlib.redirect_stdout(sys.stderr):
            corpus = open_corpus(index, version)
            results = run_search(corpus, [line.text for line in lines], k, chosen)
    except (VersionNotFound, ValueError) as error:
        fail(str(error))
    if queries is not None:
        for line, hits in zip(lines, results):
            typer.echo(QueryResult(id=line.id, results=hits).model_dump_json())
    elif as_json:
        typer.echo(json.dumps({"query": text, "version": corpus.manifest.version, "mode": chosen, "results": [hit.model_dump() for hit in results[0]]}))
    else:
        for rank, hit in enumerate(results[0], start=1):
            snippet = hit.text if len(hit.text) <= 160 else hit.text[:157] + "..."
            typer.echo(f"{rank:>2}. {hit.score:.4f}  {hit.doc_id}  {snippet}")


def versions(db: DbOption = None, table: TableOption = None, as_json: JsonOption = False, params_file: ParamsOption = None) -> None:
    """List published corpus versions, oldest first (* marks CURRENT)."""
    from tasks.ingest import versions as store

    root = store.manifest_root(params_or_fail(IngestParams, index_overrides(db, table), params_file).index)
    current = store.read_pointer(root, store.CURRENT)
    rows = [
        {"version": m.version, "current": m.version == current, "created_at": m.created_at.isoformat(), "documents": len(m.documents),
         "chunks": m.chunk_count, "failed": len(m.failed), "parent": m.parent_version,
         "added": len(m.diff.added), "changed": len(m.diff.changed), "removed": len(m.diff.removed)}
        for m in store.list_manifests(root)
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{'*' if row['current'] else ' '} {row['version']:<12} {row['created_at']}  {row['documents']} docs  {row['chunks']} chunks  "
                   f"+{row['added']} ~{row['changed']} -{row['removed']}  failed {row['failed']}")


def diff(
    from_version: Annotated[str, typer.Argument(help="Older version.")],
    to_version: Annotated[str, typer.Argument(help="Newer version.")],
    db: DbOption = None,
    table: TableOption = None,
    params_file: ParamsOption = None,
) -> None:
    """Print the added / changed / removed document ids between two versions, as JSON."""
    from tasks.ingest import versions as store

    root = store.manifest_root(params_or_fail(IngestParams, index_overrides(db, table), params_file).index)
    try:
        typer.echo(store.diff_versions(root, from_version, to_version).model_dump_json(indent=2))
    except store.VersionNotFound as error:
        fail(str(error))


COMMANDS = {"ingest": ingest, "search": search, "versions": versions, "diff": diff}

if __name__ == "__main__":
    from cli.app import make_app

    make_app(COMMANDS)()
