"""Human-readable run summaries (markdown artifacts)."""

from __future__ import annotations

from schemas.corpus import IngestReport


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
        "| stage | seconds | items | items/s |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {timing.seconds:.2f} | {timing.items} | {timing.items_per_second:.1f} |"
        for name, timing in report.timings.items()
    ]
    if report.failed:
        lines += ["", "## Failed documents", "", "| document | reason |", "|---|---|"]
        lines += [f"| `{failure.doc_id}` | {failure.reason.replace('|', '/')} |" for failure in report.failed]
    if report.partial:
        lines += ["", "## Partially extracted", ""] + [f"- `{doc_id}`" for doc_id in report.partial]
    return "\n".join(lines) + "\n"
