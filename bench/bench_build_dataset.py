"""End-to-end ``build-dataset`` over generated logs: wall time and peak memory.

Each size runs the real command (``python -m cli.dataset build-dataset --json``) in a
fresh process; RSS is sampled every 0.2 s, for the flow's own process (where the example store
lives: what must not grow with input) and for the whole tree (the flow plus the task runner's
worker processes, each with its own presidio, spaCy and torch). Wall time includes the temporary
Prefect server's start (about 10-15 s here) unless ``PREFECT_API_URL`` is set.

    .venv/bin/python bench/bench_build_dataset.py --lines 10000 30000 100000 [--runner processes]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.params import DatasetParams  # noqa: E402
from tools.synthetic_logs import generate_logs, write_logs  # noqa: E402


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def run(lines: int, work: Path, runner: str) -> dict:
    """Generate ``lines`` log lines, build, and measure."""
    logs = work / f"logs-{lines}"
    t0 = time.perf_counter()
    write_logs(generate_logs(lines, seed=17, users=max(40, lines // 20)), logs, files=4)
    generated = time.perf_counter() - t0
    data = DatasetParams().model_dump()
    data["forget"]["deny_list"] = str(work / "deny.txt")
    params_file = work / "params.yaml"
    params_file.write_text(yaml.safe_dump({"dataset": data}))
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
    args = [
        sys.executable,
        "-m",
        "cli.dataset",
        "build-dataset",
        "--logs",
        str(logs),
        "--name",
        f"bench{lines}",
        "--out",
        str(work / f"out-{lines}"),
        "--json",
        "--params",
        str(params_file),
        "--runner",
        runner,
    ]
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watcher, peak, peak_flow = psutil.Process(process.pid), 0, 0
    while process.poll() is None:
        try:
            children = watcher.children(recursive=True)
        except psutil.Error:
            children = []
        peak_flow = max(peak_flow, _rss([watcher]))
        peak = max(peak, _rss([watcher, *children]))
        time.sleep(0.2)
    wall = time.perf_counter() - start
    summary = json.loads(process.stdout.read().strip().splitlines()[-1])
    return {
        "lines": lines,
        "generate_s": round(generated, 1),
        "build_s": round(wall, 1),
        "lines_per_s": round(lines / wall, 1),
        "runner": runner,
        "peak_flow_rss_mb": round(peak_flow / 2**20),
        "peak_tree_rss_mb": round(peak / 2**20),
        "stage_seconds": {k: v["seconds"] for k, v in summary.get("timings", {}).items()},
        "written": summary["written"],
        "duplicates": summary["duplicates"],
        "rejected": summary["rejected"],
        "filtered": summary["filtered"],
        "malformed": summary["malformed"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runner", default="auto", help="auto, threads, processes or dask (see params.yaml runner)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.lines:
            print(json.dumps(run(n, Path(tmp), args.runner)), flush=True)


if __name__ == "__main__":
    main()
