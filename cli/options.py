"""Command-line options choosing the task runner, shared by ``ingest`` and ``build-dataset``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from schemas.params import RunnerParams, load_params

RunnerOption = Annotated[
    Optional[str],
    typer.Option(
        "--runner",
        help="Where the heavy tasks run: auto, threads, processes or dask (default: params.yaml runner.kind).",
    ),
]
WorkersOption = Annotated[
    Optional[int],
    typer.Option("--workers", min=0, help="Threads, processes or local Dask workers (0: per CPU core)."),
]
DaskAddressOption = Annotated[
    Optional[str],
    typer.Option("--dask-address", help="Scheduler of an existing Dask cluster, e.g. tcp://host:8786 (implies --runner dask)."),
]


def runner_params(
    kind: str | None, workers: int | None, dask_address: str | None, path: Path | None = None
) -> RunnerParams:
    """``params.yaml``'s ``runner`` section with the command line's choices.

    Raises:
        typer.Exit: with status 2 and the reason on stderr for an unknown runner.
    """
    if dask_address and kind is None:
        kind = "dask"
    if dask_address and kind != "dask":
        typer.echo(f"error: --dask-address needs --runner dask, not {kind}", err=True)
        raise typer.Exit(2)
    overrides = {k: v for k, v in {"kind": kind, "workers": workers, "dask_address": dask_address}.items() if v is not None}
    try:
        return RunnerParams.model_validate({**load_params("runner", RunnerParams, path).model_dump(), **overrides})
    except ValueError as error:
        typer.echo(f"error: bad runner option: {error.errors()[0]['msg']}", err=True)  # type: ignore[attr-defined]
        raise typer.Exit(2) from None
