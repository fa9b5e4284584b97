"""Serve the flows as Prefect deployments, so they can be run from the UI with a form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect.schedules import Cron

from schemas.params import NightlyParams, load_nightly_params

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def build_deployments(
    ingest_cron: str | None = None,
    timezone: str | None = None,
    nightly_cron: str | None = None,
    nightly: NightlyParams | None = None,
) -> list[RunnerDeployment]:
    """Every flow as a deployment; the nightly one on its cron schedule.

    Args:
        ingest_cron: Optional cron schedule for the ingestion deployment (e.g. ``"0 2 * * *"``).
        timezone: IANA timezone of every schedule; default ``params.yaml``'s ``nightly.timezone``.
        nightly_cron: The nightly schedule; default ``params.yaml``'s ``nightly.cron`` (02:00).
        nightly: The nightly params; default ``params.yaml``'s ``nightly`` section.

    Returns:
        The deployments, in the order the UI lists them.

    Raises:
        ValueError: for an unknown timezone or a malformed cron expression.
    """
    from flows.build_dataset import build_dataset
    from flows.ingest import ingest_flow
    from flows.nightly import nightly as nightly_flow
    from flows.ingest_and_gate import ingest_and_gate

    nightly = nightly or load_nightly_params()
    overrides = {k: v for k, v in {"timezone": timezone, "cron": nightly_cron}.items() if v is not None}
    nightly = NightlyParams.model_validate({**nightly.model_dump(), **overrides})  # validates both
    schedule = {"schedules": [Cron(ingest_cron, timezone=nightly.timezone)]} if ingest_cron else {}
    return [
        ingest_flow.to_deployment(name="ingest", description="Index a folder of documents and publish a corpus version.", **schedule),
        ingest_and_gate.to_deployment(name="ingest-and-gate", description="Ingest, then promote the version only if retrieval does not regress."),
        build_dataset.to_deployment(name="build-dataset", description="Build a fine-tuning dataset from interaction logs."),
        nightly_flow.to_deployment(
            name="nightly", description="Ingest and gate, invalidate the cache, build the dataset and the regression sets.",
            schedules=[Cron(nightly.cron, timezone=nightly.timezone)],
        ),
    ]
