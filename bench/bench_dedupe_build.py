"""Dedupe methods inside the build: what containment and semantic cost, cold and on a rebuild.

Generates N lines, then runs the real ``build-dataset --json`` in a fresh process (one Prefect server
for all, started here) with a fresh pool for each method set: ``exact,minhash`` (the old build),
``+containment`` (the default) and ``+containment,semantic``; then a rebuild of the last over its
own pool (every row reused with its embedding: what semantic costs a nightly build over unchanged
lines is its dedupe pass). The floor: the embedding model's own ``encode`` (batch 16, normalised) of
the same dedupe texts, in this process, after the builds.

    .venv/bin/python bench/bench_dedupe_build.py --lines 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pool import _load, _params_file, _write, build  # noqa: E402
from tools.synthetic_logs import generate_logs  # noqa: E402

METHOD_SETS = {
    "exact,minhash": ["exact", "minhash"],
    "+containment": ["exact", "minhash", "containment"],
    "+containment,semantic": ["exact", "minhash", "containment", "semantic"],
}


def _floor(pool: Path) -> dict:
    """The model's own encode (batch 16, normalised) of the dedupe texts the build embedded: its pool's redacted rows."""
    import pyarrow.parquet as pq

    from schemas.dataset import ChatExample
    from tasks.common.models import load_embedding_model
    from tasks.dataset.prefect_tasks import dedupe_text

    texts = [dedupe_text(ChatExample.model_validate_json(row["example"]), False)
             for path in sorted((pool / "parts").glob("*.parquet"))
             for row in pq.read_table(path, columns=["example"]).to_pylist() if row["example"]]
    model = load_embedding_model("all-MiniLM-L6-v2")
    model.encode(texts[:32], batch_size=16, normalize_embeddings=True, show_progress_bar=False)
    start = time.perf_counter()
    model.encode(texts, batch_size=16, normalize_embeddings=True, show_progress_bar=False)
    seconds = time.perf_counter() - start
    return {"texts": len(texts), "encode_s": round(seconds, 1), "texts_per_s": round(len(texts) / seconds, 1), "load": _load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=2_000)
    parser.add_argument("--runner", default="threads")
    args = parser.parse_args()
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory() as folder, prefect_test_harness(server_startup_timeout=120):
        os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()  # one server for every build
        work = Path(folder)
        logs = work / "logs"
        logs.mkdir()
        _write(logs / "logs.jsonl", generate_logs(args.lines, seed=43, users=max(40, args.lines // 20)).lines)
        print(json.dumps({"lines": args.lines, "load_before": _load()}), flush=True)
        results = {}
        for label, methods in METHOD_SETS.items():
            tag = label.strip("+").replace(",", "-")
            params = _params_file(work, work / f"pool-{tag}", dedupe={"methods": methods})
            result = build(params, logs, work / f"out-{tag}", args.runner)
            results[label] = result
            print(json.dumps({"methods": label, "lines_per_s": round(args.lines / result["wall_s"], 1), **result}), flush=True)
        result = build(params, logs, work / "out-rebuild", args.runner)
        print(json.dumps({"methods": "rebuild " + label, "lines_per_s": round(args.lines / result["wall_s"], 1), **result}),
              flush=True)
        print(json.dumps({"floor": _floor(work / "pool-containment-semantic")}), flush=True)


if __name__ == "__main__":
    main()
