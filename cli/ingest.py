"""CLI commands for ingestion and search: ``ingest``, ``search``, ``versions``, ``diff``."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import DaskAddressOption, RunnerOption, WorkersOption, runner_params
from schemas.params import IndexParams, IngestParams, ServingParams, load_params
from schemas.search import QueryLine, QueryResult, SearchMode
from tasks.ingest.versions import manifest_root

DbOption = Annotated[Optional[str], typer.Option("--db", help="LanceDB URI (default from params.yaml: data/lancedb).")]
TableOption = Annotated[Optional[str], typer.Option("--table", help="Chunks table (default from params.yaml).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def ingest_params(source_dir: str | None = None, **index_overrides: str | None) -> IngestParams:
    """``params.yaml``'s ingest section with the command line's overrides (None = keep) validated in."""
    params = load_params("ingest", IngestParams)
    overrides = {key: value for key, value in index_overrides.items() if value is not None}
    index = IndexParams.model_validate({**params.index.model_dump(), **overrides})
    return params.model_copy(update={"index": index, **({"source_dir": source_dir} if source_dir else {})})


def fail(message: str) -> None:
    """Print a one-line error on stderr and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Attach the ingestion commands to the CLI."""

    @app.command()
    def ingest(
        source_dir: Annotated[Optional[str], typer.Argument(help="Folder of documents (default: params.yaml ingest.source_dir).")] = None,
        db: DbOption = None,
        table: TableOption = None,
        version_name: Annotated[Optional[str], typer.Option("--version-name", help="Name of the published version (default v1, v2, ...).")] = None,
        cleanup: Annotated[Optional[str], typer.Option("--cleanup", help="full: delete documents missing from SOURCE_DIR; incremental: keep them.")] = None,
        gate: Annotated[bool, typer.Option("--gate", help="Serve the new version only if the retrieval gate passes (params.yaml serving.gate).")] = False,
        as_json: JsonOption = False,
        runner: RunnerOption = None,
        workers: WorkersOption = None,
        dask_address: DaskAddressOption = None,
    ) -> None:
        """Index SOURCE_DIR incrementally and publish a corpus version (runs the Prefect flow)."""
        from flows.ingest import ingest_flow
        from flows.ingest_and_gate import ingest_and_gate

        task_runner = runner_params(runner, workers, dask_address)
        try:
            params = ingest_params(source_dir, db=db, table=table, cleanup=cleanup)
        except ValueError as error:
            fail(str(error))
        if not Path(params.source_dir).is_dir():
            fail(f"source folder not found: {params.source_dir}")
        if version_name:
            try:
                params = IngestParams.model_validate({**params.model_dump(), "version_name": version_name})
            except ValueError as error:
                fail(f"bad --version-name {version_name!r}: letters, digits, '.', '_' and '-' only ({error.errors()[0]['msg']})")
            if (manifest_root(params.index) / f"{version_name}.json").exists():
                fail(f"corpus version {version_name!r} is already published; pick another name")
        verdict = None
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            if gate:
                report, verdict = ingest_and_gate(params, load_params("serving", ServingParams).gate, task_runner)
            else:
                report = ingest_flow(params, task_runner)
        if as_json:
            fields = {"passed", "action", "current", "baseline_version", "regressions"}
            gate_summary = {"gate": verdict.model_dump(mode="json", include=fields) if verdict else None} if gate else {}
            typer.echo(json.dumps({**report.json_summary(), **gate_summary}))
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
        if verdict is not None:
            typer.echo(f"retrieval gate: {'passed' if verdict.passed else 'REGRESSED'}, {verdict.action}; CURRENT is {verdict.current}")

    @app.command()
    def search(
        text: Annotated[Optional[str], typer.Argument(help="The query.")] = None,
        k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Results per query.")] = 10,
        db: DbOption = None,
        table: TableOption = None,
        version: Annotated[Optional[str], typer.Option("--version", help="Corpus version tag (default: CURRENT).")] = None,
        mode: Annotated[Optional[str], typer.Option("--mode", help="vector, fts or hybrid (default: fts, measured best).")] = None,
        queries: Annotated[Optional[Path], typer.Option("--queries", help="JSONL file of {\"id\", \"text\"} lines.")] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Search a published corpus version; one query or a JSONL file of queries."""
        from tasks.ingest.search import DEFAULT_MODE, open_corpus
        from tasks.ingest.search import search as run_search
        from tasks.ingest.versions import VersionNotFound

        chosen: SearchMode = mode or DEFAULT_MODE  # type: ignore[assignment]
        if chosen not in ("vector", "fts", "hybrid"):
            fail(f"unknown mode {mode!r}: use vector, fts or hybrid")
        if (text is None) == (queries is None):
            fail("give either a query text or --queries FILE")
        lines = [QueryLine(id=None, text=text)] if text is not None else read_queries(queries)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                corpus = open_corpus(ingest_params(db=db, table=table).index, version)
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

    @app.command()
    def versions(db: DbOption = None, table: TableOption = None, as_json: JsonOption = False) -> None:
        """List published corpus versions, oldest first (* marks CURRENT)."""
        from tasks.ingest import versions as store

        root = store.manifest_root(ingest_params(db=db, table=table).index)
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

    @app.command()
    def diff(
        from_version: Annotated[str, typer.Argument(help="Older version.")],
        to_version: Annotated[str, typer.Argument(help="Newer version.")],
        db: DbOption = None,
        table: TableOption = None,
    ) -> None:
        """Print the added / changed / removed document ids between two versions, as JSON."""
        from tasks.ingest import versions as store

        root = store.manifest_root(ingest_params(db=db, table=table).index)
        try:
            typer.echo(store.diff_versions(root, from_version, to_version).model_dump_json(indent=2))
        except store.VersionNotFound as error:
            fail(str(error))


def read_queries(path: Path) -> list[QueryLine]:
    """Read a JSONL query file; a bad line stops with an error naming it (queries are user input, not data)."""
    lines = []
    with path.open(encoding="utf-8") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                lines.append(QueryLine.model_validate_json(raw))
            except ValueError as error:
                fail(f"{path}:{number}: not a query line {{\"id\", \"text\"}}: {error}")
    return lines


if __name__ == "__main__":  # python -m cli.ingest: only this group's commands (the DVC stages run it)
    standalone = typer.Typer(name="tributary", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    register(standalone)
    standalone()
