"""Ingest, then let the retrieval gate decide whether the new corpus version goes live."""

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.ingest import ingest_flow
from schemas.corpus import IngestReport
from schemas.gate import GateResult
from schemas.params import GateParams, IngestParams, RunnerParams, ServingParams, load_params
from tasks.ingest.lock import table_lock
from tasks.serving.gate import render_report, run_gate

gate_version = task(run_gate, name="retrieval-gate", cache_policy=NO_CACHE)


@flow(name="ingest-and-gate", description="Ingest, evaluate the new corpus version, and move CURRENT only if it does not regress.")
def ingest_and_gate(
    ingest: IngestParams = load_params("ingest", IngestParams),
    gate: GateParams = load_params("serving", ServingParams).gate,
    runner: RunnerParams = load_params("runner", RunnerParams),
) -> tuple[IngestReport, GateResult | None]:
    """Publish a version without serving it, then promote it or hold CURRENT on the last good one."""
    held = ingest.model_copy(update={"index": ingest.index.model_copy(update={"promote": False})})
    with table_lock(held.index):  # no other run publishes or moves CURRENT between our publish and the gate's verdict
        report = ingest_flow(held, runner)
        if not report.published:
            return report, None
        result = gate_version(held.index, gate, report.version)
    create_markdown_artifact(key="retrieval-gate", markdown=render_report(result), description=f"Retrieval gate on {report.version}")
    return report, result
