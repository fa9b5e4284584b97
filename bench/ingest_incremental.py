"""Cold ingest, unchanged re-run and 1%-changed re-run on a generated corpus.

Targets: the unchanged re-run costs <= 2% and the 1%-changed re-run <= 5% of the cold run.
Each run is the real Prefect flow in this process (one temporary Prefect server for all three).

    python bench/ingest_incremental.py [--docs 1000] [--changed 0.01] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from tools.bench_corpus import generate_corpus, mutate_corpus
from schemas.params import IndexParams, IngestParams


def timed(flow, params: IngestParams) -> tuple[float, dict]:
    """Run the flow once; returns (wall seconds, report summary)."""
    start = time.perf_counter()
    report = flow(params)
    return time.perf_counter() - start, report.json_summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from flows.ingest import ingest_flow
    from prefect.testing.utilities import prefect_test_harness

    work = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    source = work / "docs"
    generate_corpus(source, args.docs, seed=0)
    params = IngestParams(source_dir=str(source), index=IndexParams(db=str(work / "lancedb")))
    with prefect_test_harness(server_startup_timeout=120):
        cold, cold_report = timed(ingest_flow, params)
        unchanged, unchanged_report = timed(ingest_flow, params)
        changed_paths = mutate_corpus(source, args.changed, seed=1)
        changed, changed_report = timed(ingest_flow, params)
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''} {__import__('os').cpu_count()} cores".strip(),
        "docs": args.docs,
        "chunks": cold_report["chunks_written"],
        "cold_s": round(cold, 2),
        "unchanged_s": round(unchanged, 2),
        "unchanged_ratio": round(unchanged / cold, 4),
        "changed_files": len(changed_paths),
        "changed_s": round(changed, 2),
        "changed_ratio": round(changed / cold, 4),
        "changed_report": {k: changed_report[k] for k in ("unchanged", "added", "changed", "removed", "chunks_written")},
        "cold_stage_seconds": {name: t["seconds"] for name, t in cold_report["timings"].items()},
        "unchanged_stage_seconds": {name: t["seconds"] for name, t in unchanged_report["timings"].items()},
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
