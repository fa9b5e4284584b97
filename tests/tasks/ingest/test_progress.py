"""Progress of a run: documents/s, chunks/s and the ETA; chunks/s per stage in the run's report."""

from __future__ import annotations

from schemas.corpus import IngestReport
from schemas.timing import StageTiming
from tasks.ingest.progress import IngestProgress, format_duration
from tasks.ingest.report import ingest_summary_markdown


def test_rates_and_eta_follow_the_documents_done():
    meter = IngestProgress(total_docs=100, started=1000.0)
    assert meter.eta_seconds(now=1000.0) is None and "ETA unknown" in meter.describe(now=1000.0)
    meter.advance(docs=20, chunks=50)
    assert meter.docs_per_second(now=1010.0) == 2.0 and meter.chunks_per_second(now=1010.0) == 5.0
    assert meter.eta_seconds(now=1010.0) == 40.0 and meter.percent() == 20.0
    assert meter.describe(now=1010.0) == "20/100 documents, 50 chunks; 2.00 docs/s, 5.0 chunks/s; ETA 40s"


def test_durations_read_like_a_clock():
    assert [format_duration(s) for s in (6, 245, 3723)] == ["6s", "4m05s", "1h02m03s"]


def test_the_report_gives_chunks_per_second_for_the_chunk_stages():
    report = IngestReport(
        version="v1", published=True, discovered=10, unchanged=0, added=10, changed=0, removed=0, failed=(), partial=(),
        chunks_written=40, chunks_deleted=0, dropped_duplicate_chunks=0,
        timings={"lock-wait": StageTiming(seconds=0.0, items=0), "plan": StageTiming(seconds=1.0, items=0),
                 "extract": StageTiming(seconds=2.0, items=10), "embed": StageTiming(seconds=4.0, items=40)},
    )
    rows = {line.split(" | ")[0].strip("| "): line for line in ingest_summary_markdown(report, "chunks").splitlines() if line.startswith("| ")}
    assert rows["extract"].endswith("| 20.0 |") and rows["embed"].endswith("| 10.0 |")
    assert rows["plan"].endswith("|  |") and rows["lock-wait"].endswith("|  |")
