"""The ``tributary`` command line: each subcommand calls the same flow or task the Prefect
deployments run. Command groups live beside this file and register themselves here."""

from __future__ import annotations

import os

import typer

app = typer.Typer(
    name="tributary",
    help="Data pipelines for LLM applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    log_json: bool = typer.Option(
        False, "--log-json",
        help="Logs as one JSON object a line on stderr (Prefect's JSON formatter), with each record's fields "
        "(stage, items, seconds, doc_id, reason, ...). Same as PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER=json.",
    ),
) -> None:
    """Data pipelines for LLM applications."""
    if log_json:  # read when Prefect configures logging, which no command has done yet
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER"] = "json"


def _register_commands() -> None:
    """Attach every command group to the app (one line per group)."""
    from cli import ingest as ingest_commands

    ingest_commands.register(app)
    from cli import dataset as dataset_commands
    dataset_commands.register(app)
    from cli import serving as serving_commands
    serving_commands.register(app)


@app.command()
def serve(
    ingest_cron: str = typer.Option(None, "--ingest-cron", help="Cron schedule for the ingestion deployment, e.g. '0 2 * * *'."),
    nightly_cron: str = typer.Option(None, "--nightly-cron", help="Cron schedule of the nightly run (default params.yaml nightly.cron: 02:00)."),
    timezone: str = typer.Option(None, "--timezone", help="IANA timezone of every schedule, e.g. Europe/Berlin (default params.yaml nightly.timezone)."),
) -> None:
    """Serve every flow as a Prefect deployment (needs PREFECT_API_URL pointing at a server)."""
    from prefect import serve as serve_flows

    from flows.deployments import build_deployments

    try:
        deployments = build_deployments(ingest_cron, timezone, nightly_cron)
    except ValueError as error:  # pydantic's ValidationError included: name the bad setting only
        message = error.errors()[0]["msg"] if hasattr(error, "errors") else str(error)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from None
    serve_flows(*deployments)


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    app()


if __name__ == "__main__":
    main()
