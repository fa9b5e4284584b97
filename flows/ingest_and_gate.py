"""Ingest, then let the retrieval gate decide whether the new corpus version goes live."""

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.ingest import ingest_flow
from schemas.corpus import IngestReport
from schemas.gate import GateResult
from schemas.params import GateParams, IngestParams, RunnerParams
from tasks.ingest.lock import table_lock
from tasks.serving.gate import render_report
from tasks.serving.prefect_tasks import retrieval_gate


@flow(name="ingest-and-gate", description="Ingest, evaluate the new corpus version, and move CURRENT only if it does not regress.")
def ingest_and_gate(
    ingest: IngestParams = IngestParams(),
    gate: GateParams = GateParams(),
    runner: RunnerParams = RunnerParams(),
) -> tuple[IngestReport, GateResult | None]:
    """Publish a version without serving it, then promote it or hold CURRENT on the last good one."""
    held = ingest.model_copy(update={"index": ingest.index.model_copy(update={"promote": False})})
    with table_lock(held.index):  # no other run publishes or moves CURRENT between our publish and the gate's verdict
        report = ingest_flow(held, runner)
        if not report.published:
            return report, None
        result = retrieval_gate(held.index, gate, report.version)
    create_markdown_artifact(key="retrieval-gate", markdown=render_report(result), description=f"Retrieval gate on {report.version}")
    return report, result
