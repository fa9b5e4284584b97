"""Serve the flows as Prefect deployments, so they can be run from the UI with a form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
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
        The deployments, in the order the UI lists them. The three that write the corpus table
        (ingest, ingest-and-gate, nightly) run one at a time each: a second run waits in the queue
        (``ENQUEUE``) instead of starting; across deployments and the CLI, the table's ingest lock
        (``tasks/ingest/lock.py``) keeps runs on one table from interleaving.

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
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    return [
        ingest_flow.to_deployment(name="ingest", description="Index a folder of documents and publish a corpus version.",
                                  concurrency_limit=one_at_a_time, **schedule),
        ingest_and_gate.to_deployment(name="ingest-and-gate", description="Ingest, then promote the version only if retrieval does not regress.",
                                      concurrency_limit=one_at_a_time),
        build_dataset.to_deployment(name="build-dataset", description="Build a fine-tuning dataset from interaction logs."),
        nightly_flow.to_deployment(
            name="nightly", description="Ingest and gate, invalidate the cache, build the dataset and the regression sets.",
            schedules=[Cron(nightly.cron, timezone=nightly.timezone)], concurrency_limit=one_at_a_time,
        ),
    ]
