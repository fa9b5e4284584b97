"""CLI commands for running it like production: ``serve`` (every deployment) and ``params`` (what is in effect)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from cli.options import ParamsOption, fail, params_or_fail
from schemas.params import DatasetParams, IngestParams, NightlyParams, RunnerParams, ServingParams, apply_overrides

SECTIONS = {model.section: model for model in (IngestParams, DatasetParams, ServingParams, RunnerParams, NightlyParams)}


def serve(
    ingest_cron: Annotated[Optional[str], typer.Option("--ingest-cron", help="Cron schedule for the ingestion deployment, e.g. '0 2 * * *'.")] = None,
    nightly_cron: Annotated[Optional[str], typer.Option("--nightly-cron", help="Cron schedule of the nightly run (default: params nightly.cron, 02:00).")] = None,
    timezone: Annotated[Optional[str], typer.Option("--timezone", help="IANA timezone of every schedule, e.g. Europe/Berlin (default: params nightly.timezone).")] = None,
    params_file: ParamsOption = None,
) -> None:
    """Serve every flow as a Prefect deployment (needs PREFECT_API_URL pointing at a server)."""
    from prefect import serve as serve_flows

    from flows.deployments import build_deployments

    try:
        nightly = apply_overrides(params_or_fail(NightlyParams, path=params_file), {"cron": nightly_cron, "timezone": timezone})
        deployments = build_deployments(nightly, ingest_cron)
    except ValidationError as error:
        fail(error.errors()[0]["msg"].removeprefix("Value error, "))
    except ValueError as error:
        fail(str(error))
    serve_flows(*deployments)


def params(
    section: Annotated[Optional[str], typer.Argument(help="ingest, dataset, serving, runner or nightly (default: all).")] = None,
    params_file: ParamsOption = None,
) -> None:
    """Print the params in effect (the defaults with params.yaml laid over them), as JSON."""
    if section is not None and section not in SECTIONS:
        fail(f"unknown section {section!r}: use one of {', '.join(SECTIONS)}")
    chosen = {section: SECTIONS[section]} if section else {k: m for k, m in SECTIONS.items() if k != "nightly"}
    values = {name: params_or_fail(model, path=params_file).model_dump(mode="json") for name, model in chosen.items()}
    if section is None:
        nightly = params_or_fail(NightlyParams, path=params_file)
        values["nightly"] = {"cron": nightly.cron, "timezone": nightly.timezone}
    typer.echo(json.dumps(values[section] if section else values, indent=2))


COMMANDS = {"serve": serve, "params": params}

if __name__ == "__main__":
    from cli.app import make_app

    make_app(COMMANDS)()
