"""Serve the flows as Prefect deployments, so they can be run from the UI with a form."""

from __future__ import annotations

from prefect import serve


def serve_deployments(ingest_cron: str | None = None, timezone: str = "UTC") -> None:
    """Register every deployment with the Prefect API and run them until interrupted.

    Args:
        ingest_cron: Optional cron schedule for the ingestion deployment (e.g. ``"0 2 * * *"``).
        timezone: Timezone of the cron schedule.
    """
    from flows.build_dataset import build_dataset
    from flows.ingest import ingest_flow
    from flows.serving import ingest_and_gate

    schedule = {"cron": ingest_cron, "timezone": timezone} if ingest_cron else {}
    serve(
        ingest_flow.to_deployment(name="ingest", description="Index a folder of documents and publish a corpus version.", **schedule),
        ingest_and_gate.to_deployment(name="ingest-and-gate", description="Ingest, then promote the version only if retrieval does not regress."),
        build_dataset.to_deployment(name="build-dataset", description="Build a fine-tuning dataset from interaction logs."),
    )
