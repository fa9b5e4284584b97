"""Every flow as a Prefect deployment, so it can be run from the UI with a form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

from schemas.params import NightlyParams

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def build_deployments(nightly: NightlyParams, ingest_cron: str | None = None) -> list[RunnerDeployment]:
    """Every flow as a deployment whose parameters are the params in effect; the nightly one on its cron.

    The UI's Run > Custom run form is filled with these parameters, so a run started there sees
    the same values as the CLI and ``dvc repro`` (``load_params`` when ``tributary serve`` started).

    Args:
        nightly: The params in effect (``load_params(NightlyParams)``): every stage, the schedule.
        ingest_cron: Optional cron schedule for the ingestion deployment (e.g. ``"0 2 * * *"``).

    Returns:
        The deployments, in the order the UI lists them. The three that write the corpus table
        (ingest, ingest-and-gate, nightly) run one at a time each: a second run waits in the queue
        (``ENQUEUE``) instead of starting; across deployments and the CLI, the table's ingest lock
        (``tasks/ingest/lock.py``) keeps runs on one table from interleaving.

    Raises:
        ValueError: for a malformed ingest cron expression.
    """
    from flows.build_dataset import build_datasets
    from flows.ingest import ingest_flow
    from flows.ingest_and_gate import ingest_and_gate
    from flows.nightly import nightly as nightly_flow

    runner = nightly.runner.model_dump(mode="json")
    ingest = nightly.ingest.model_dump(mode="json")
    schedule = {"schedules": [Cron(ingest_cron, timezone=nightly.timezone)]} if ingest_cron else {}
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    return [
        ingest_flow.to_deployment(
            name="ingest", description="Index a folder of documents and publish a corpus version.",
            parameters={"params": ingest, "runner": runner}, concurrency_limit=one_at_a_time, **schedule,
        ),
        ingest_and_gate.to_deployment(
            name="ingest-and-gate", description="Ingest, then promote the version only if retrieval does not regress.",
            parameters={"ingest": ingest, "gate": nightly.serving.gate.model_dump(mode="json"), "runner": runner},
            concurrency_limit=one_at_a_time,
        ),
        build_datasets.to_deployment(
            name="build-dataset",
            description="Build the fine-tuning datasets (every dataset.datasets entry, or `names`) from one pool update.",
            parameters={"params": nightly.dataset.model_dump(mode="json"), "runner": runner},
        ),
        nightly_flow.to_deployment(
            name="nightly", description="Ingest and gate, invalidate the cache, build the dataset and the regression sets.",
            parameters={"params": nightly.model_dump(mode="json")},
            schedules=[Cron(nightly.cron, timezone=nightly.timezone)], concurrency_limit=one_at_a_time,
        ),
    ]
