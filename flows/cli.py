"""The ``tributary`` command line: each subcommand calls the same flow or task the Prefect
deployments run. Command groups live beside this file and register themselves here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tributary",
    help="Data pipelines for LLM applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Attach every command group to the app (one line per group)."""
    from flows import ingest_commands

    ingest_commands.register(app)
    from flows import dataset_commands
    dataset_commands.register(app)
    from flows import serving_commands
    serving_commands.register(app)


@app.command()
def serve(
    ingest_cron: str = typer.Option(None, "--ingest-cron", help="Cron schedule for the ingestion deployment, e.g. '0 2 * * *'."),
    timezone: str = typer.Option("UTC", "--timezone", help="Timezone of the schedules."),
) -> None:
    """Serve every flow as a Prefect deployment (needs PREFECT_API_URL pointing at a server)."""
    from flows.serve import serve_deployments

    serve_deployments(ingest_cron, timezone)


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    app()


if __name__ == "__main__":
    main()
