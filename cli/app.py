"""The ``tributary`` command line: each subcommand calls the same flow or task the Prefect
deployments run. Every group module (``cli/ingest.py``, ``cli/dataset.py``, ``cli/serving.py``,
``cli/deploy.py``) lists its commands in ``COMMANDS``; ``make_app`` registers them, the one way
commands are added. ``python -m cli.<group>`` runs one group alone (the DVC stages do, so a stage
imports only the code its command can run)."""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable, Mapping

import typer

GROUPS = ("cli.ingest", "cli.dataset", "cli.serving", "cli.deploy")
"""The command groups of the full ``tributary`` app, in help order."""


def log_format(
    log_json: bool = typer.Option(
        False, "--log-json",
        help="Logs as one JSON object a line on stderr (Prefect's JSON formatter), with each record's fields "
        "(stage, items, seconds, doc_id, reason, ...). Same as PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER=json.",
    ),
) -> None:
    """Data pipelines for LLM applications."""
    if log_json:  # read when Prefect configures logging, which no command has done yet
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER"] = "json"


def make_app(*commands: Mapping[str, Callable[..., None]]) -> typer.Typer:
    """A ``tributary`` app with the given groups' commands (``COMMANDS`` of each group module)."""
    app = typer.Typer(
        name="tributary",
        help="Data pipelines for LLM applications.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(log_format)
    for group in commands:
        for name, command in group.items():
            app.command(name)(command)
    return app


def full_app() -> typer.Typer:
    """The ``tributary`` app with every group's commands."""
    return make_app(*(importlib.import_module(name).COMMANDS for name in GROUPS))


def main() -> None:
    """Console-script entry point: every group.

    When the command is done, every live object is moved out of the garbage collector's reach
    (``gc.freeze``): the interpreter's last collection would otherwise walk the whole heap of torch,
    spaCy, unstructured and Prefect for nothing (2.4 s of a 1%-edited ``ingest`` re-run). Files,
    locks and servers are closed by their own ``with`` blocks and ``atexit`` handlers, which still run.
    """
    try:
        full_app()()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
