"""What every command group shares: common options, the params loader with the command line's
overrides, and the one way a command fails."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional, TypeVar

import typer
from pydantic import ValidationError

from schemas.params import RunnerParams, StageParams, load_params

M = TypeVar("M", bound=StageParams)

DbOption = Annotated[Optional[str], typer.Option("--db", help="LanceDB URI (default: params ingest.index.db).")]
TableOption = Annotated[Optional[str], typer.Option("--table", help="Chunks table (default: params ingest.index.table).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (logs go to stderr).")]
ParamsOption = Annotated[
    Optional[Path], typer.Option("--params", dir_okay=False, help="Params file (default: $TRIBUTARY_PARAMS or ./params.yaml).")
]
RunnerOption = Annotated[
    Optional[str],
    typer.Option("--runner", help="Where the heavy tasks run: auto, threads, processes or dask (default: params runner.kind)."),
]
WorkersOption = Annotated[
    Optional[int], typer.Option("--workers", min=0, help="Threads, processes or local Dask workers (0: per CPU core).")
]
DaskAddressOption = Annotated[
    Optional[str],
    typer.Option("--dask-address", help="Scheduler of an existing Dask cluster, e.g. tcp://host:8786 (implies --runner dask)."),
]


def fail(message: str) -> NoReturn:
    """Print a one-line error on stderr and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def params_or_fail(model: type[M], overrides: Mapping[str, Any] | None = None, path: Path | None = None) -> M:
    """``load_params`` for a command: a bad value exits with status 2 naming the setting."""
    try:
        return load_params(model, overrides, path)
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"bad setting {'.'.join(str(part) for part in first['loc'])}: {first['msg']}")
    except ValueError as error:
        fail(str(error))


def runner_params(kind: str | None, workers: int | None, dask_address: str | None, path: Path | None = None) -> RunnerParams:
    """The ``runner`` params with the command line's choices (``--dask-address`` implies ``--runner dask``)."""
    if dask_address and kind is None:
        kind = "dask"
    if dask_address and kind != "dask":
        fail(f"--dask-address needs --runner dask, not {kind}")
    return params_or_fail(RunnerParams, {"kind": kind, "workers": workers, "dask_address": dask_address}, path)


def index_overrides(db: str | None, table: str | None) -> dict[str, Any]:
    """The ``--db`` / ``--table`` options as ingest overrides."""
    return {"index": {"db": db, "table": table}}
