"""Human-readable run summaries (markdown artifacts)."""

from __future__ import annotations

from schemas.corpus import IngestReport
from schemas.timing import StageTiming

CHUNK_STAGES = ("extract", "chunk", "embed", "write")


def stage_chunks_per_second(name: str, timing: StageTiming, chunks: int) -> str:
    """The run's chunks over the stage's seconds, for the stages that make or write chunks ('' otherwise)."""
    if name not in CHUNK_STAGES or timing.seconds <= 0:
        return ""
    return f"{chunks / timing.seconds:.1f}"


def ingest_summary_markdown(report: IngestReport, table: str) -> str:
    """Markdown for the ingestion run's Prefect artifact: counts, version, throughput, failures."""
    state = "published" if report.published else "unchanged (nothing to publish)"
    lines = [
        f"# Ingestion: corpus version `{report.version}` ({state})",
        "",
        f"Table `{table}`.",
        "",
        "| discovered | unchanged | added | changed | removed | failed | partial | chunks written | chunks deleted |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {report.discovered} | {report.unchanged} | {report.added} | {report.changed} | {report.removed} "
        f"| {len(report.failed)} | {len(report.partial)} | {report.chunks_written} | {report.chunks_deleted} |",
        "",
        "## Stages",
        "",
        "Items are documents for discover, extract and chunk, chunks for embed and write. Chunks/s is the run's chunks written "
        "over the stage's seconds (for the stages that handle chunks); seconds of work done in tasks add up over "
        "the tasks, so they can exceed wall time.",
        "",
        "| stage | seconds | items | items/s | chunks/s |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {timing.seconds:.2f} | {timing.items} | {timing.items_per_second:.1f} | {stage_chunks_per_second(name, timing, report.chunks_written)} |"
        for name, timing in report.timings.items()
    ]
    if report.failed:
        lines += ["", "## Failed documents", "", "| document | reason |", "|---|---|"]
        lines += [f"| `{failure.doc_id}` | {failure.reason.replace('|', '/')} |" for failure in report.failed]
    if report.partial:
        lines += ["", "## Partially extracted", ""] + [f"- `{doc_id}`" for doc_id in report.partial]
    return "\n".join(lines) + "\n"
