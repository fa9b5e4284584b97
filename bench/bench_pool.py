"""The example pool: a cold build, a rebuild after appending 1% new lines, and a task dataset over a large pool.

``rebuild``: generate N lines, ``build-dataset`` with an empty pool (cold), append 1% new lines to
the same file, build again with the same pool. Each build is the real command in a fresh process
(one Prefect server for all of them, started here, so no build pays a server's start).
Reports wall time, the rebuild as a share of the cold build, and the pool counts (lines redacted
on the rebuild must be the new lines).

``scale``: pools of 100,000 and 1,000,000 rows synthesised directly (which the issue allows for this
figure): R recent lines (from 2026; real parse, validation and MinHash, redaction replaced by the
identity) and the rest older (from 2010-2022; each row carries its own line's key and selection
fields and a processed template's example and signature, so rows have their real size). The same task dataset (``select.since:
2026-01-01``, so the same R examples) is built over each; peak RSS of the flow's process and wall
time. What may grow with the pool is the index (16 bytes a row) and the streamed rejects.

    .venv/bin/python bench/bench_pool.py rebuild --lines 20000
    .venv/bin/python bench/bench_pool.py scale --rows 100000 1000000 --recent 20000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.params import DatasetParams  # noqa: E402
from tasks.common.clock import StageClock  # noqa: E402
from tools.synthetic_logs import generate_logs  # noqa: E402

CHUNK = 20_000


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _write(path: Path, lines: list[str], mode: str = "w") -> None:
    with path.open(mode, encoding="utf-8") as handle:
        handle.writelines(f"{line}\n" for line in lines)


def _params_file(work: Path, pool: Path, **section) -> Path:
    data = {"out_root": str(work / "datasets"), "pool": str(pool), "forget": {"deny_list": str(work / "deny.txt")},
            "decontaminate": {"regression_root": str(work / "regression")}, **section}
    path = work / f"params-{pool.name}.yaml"
    path.write_text(yaml.safe_dump({"dataset": data}), encoding="utf-8")
    return path


def build(params_file: Path, logs: Path, out: Path, runner: str, name: str | None = None) -> dict:
    """One ``build-dataset --json`` in a fresh process: wall time, peak RSS (flow process, tree), its summary."""
    args = [sys.executable, "-m", "cli.dataset", "build-dataset", "--params", str(params_file), "--logs", str(logs),
            "--out", str(out), "--json", "--runner", runner, *(["--name", name] if name else [])]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watcher, peak_flow, peak_tree = psutil.Process(process.pid), 0, 0
    while process.poll() is None:
        try:
            members = [watcher, *watcher.children(recursive=True)]
            rss = [m.memory_info().rss for m in members]
            peak_flow, peak_tree = max(peak_flow, rss[0]), max(peak_tree, sum(rss))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - start
    out_text = process.stdout.read()
    if process.returncode:
        raise RuntimeError(f"build failed ({process.returncode})")
    summary = json.loads(out_text.strip().splitlines()[-1])
    return {"wall_s": round(wall, 1), "peak_flow_rss_mb": round(peak_flow / 2**20), "peak_tree_rss_mb": round(peak_tree / 2**20),
            "pool": summary["pool"], "input_lines": summary["input_lines"], "written": summary["written"],
            "stage_seconds": {k: round(v["seconds"], 1) for k, v in summary["timings"].items()},
            "dedupe_pairs": summary.get("dedupe_pairs", {}), "load": _load()}


def rebuild(work: Path, lines: int, share: float, runner: str) -> None:
    new = max(1, round(lines * share))
    corpus = generate_logs(lines + new, seed=41, users=max(40, lines // 20)).lines
    logs = work / "logs"
    logs.mkdir()
    _write(logs / "logs.jsonl", corpus[:lines])
    params = _params_file(work, work / "pool")
    print(json.dumps({"load_before": _load(), "lines": lines, "appended": new}), flush=True)
    cold = build(params, logs, work / "cold", runner)
    print(json.dumps({"build": "cold", **cold}), flush=True)
    _write(logs / "logs.jsonl", corpus[lines:], mode="a")
    again = build(params, logs, work / "rebuild", runner)
    print(json.dumps({"build": "rebuild", **again}), flush=True)
    print(json.dumps({"rebuild_share_of_cold": round(again["wall_s"] / cold["wall_s"], 4),
                      "redacted_on_rebuild": again["pool"]["redacted"], "processed_on_rebuild": again["pool"]["processed"],
                      "new_lines": new}), flush=True)


def _written_batches(logs_file: Path, corpora, size: int = 2_000):
    """Write the corpora's lines to ``logs_file``, yielding them as numbered ``RawLine`` batches of ``size``."""
    from tasks.dataset.read import RawLine

    number = 0
    with logs_file.open("w", encoding="utf-8") as handle:
        for corpus in corpora:
            for start in range(0, len(corpus), size):
                chunk = corpus[start : start + size]
                handle.writelines(f"{line}\n" for line in chunk)
                yield [RawLine(source=logs_file.name, line=number + i + 1, text=t) for i, t in enumerate(chunk)]
                number += len(chunk)


def _synthesise(pool_dir: Path, logs_file: Path, corpora, params: DatasetParams) -> int:
    """Write the corpora's lines to ``logs_file`` and their rows to the pool (redaction: the identity)."""
    from tasks.dataset import prefect_tasks as stages
    from tasks.dataset.pool import Pool
    from tasks.pii import redact as redact_lib

    redact_lib.redact_examples = lambda examples, _params: redact_lib.RedactionOutcome(  # type: ignore[assignment]
        examples=list(examples), pii_counts=Counter()
    )
    pool = Pool.open(pool_dir, params)
    for raws in _written_batches(logs_file, corpora):
        pool.append([r for r in stages.process_lines(raws, params, frozenset(), StageClock()) if r["outcome"] != "forgotten"])
    return sum(len(corpus) for corpus in corpora)


def _synthesise_cheaply(pool_dir: Path, logs_file: Path, corpora, params: DatasetParams) -> int:
    """Older rows made without processing: each line's own key and selection fields, a processed template's
    example, keys and signature (same sizes). A build filters them by date: it reads only those fields."""
    from tasks.dataset import prefect_tasks as stages
    from tasks.dataset.pool import Pool, line_hash
    from tasks.dataset.select import user_hash

    pool = Pool.open(pool_dir, params)
    template = reject = None
    written = 0
    for raws in _written_batches(logs_file, corpora):
        written += len(raws)
        if template is None:
            real = stages.process_lines(raws[:200], params, frozenset(), StageClock())
            template = next(r for r in real if r["outcome"] == "ok")
            reject = next(r for r in real if r["outcome"] == "malformed")
        rows = []
        for raw in raws:
            try:
                log = json.loads(raw.text)
                when = datetime.fromisoformat(log["timestamp"])
                row = {**template, "request_id": log["request_id"], "timestamp": when, "model": log["model"],
                       "category": log.get("category") or "uncategorized", "user_feedback": log.get("user_feedback"),
                       "quality_score": log.get("automated_quality_score"),
                       "user_hash": user_hash(log["user_id"], params.forget.user_hash_salt) if log.get("user_id") else None}
            except (ValueError, KeyError, TypeError):
                row = dict(reject)
            row.update(line_hash=line_hash(raw.text), source=raw.source, line=raw.line)
            rows.append(row)
        pool.append(rows)
    return written  # ``corpora`` may be a generator: count what was written


def scale(work: Path, sizes: list[int], recent: int) -> None:
    """Each pool: SIZE - RECENT older rows, then the same RECENT rows; the same task dataset over each."""
    params = DatasetParams()
    largest = max(sizes)
    for size in sorted(sizes):
        folder = work / f"pool-{size}"
        logs = work / f"logs-{size}"
        logs.mkdir()
        start = time.perf_counter()
        old = (generate_logs(min(CHUNK, size - recent - k), seed=100 + k // CHUNK,
                             start=datetime(2010, 1, 1, tzinfo=UTC).replace(year=2010 + min(k // 100_000, 12))).lines
               for k in range(0, size - recent, CHUNK))
        n_old = _synthesise_cheaply(folder, logs / "a-old.jsonl", old, params)
        n_recent = _synthesise(folder, logs / "b-recent.jsonl", [generate_logs(recent, seed=7, start=datetime(2026, 1, 1, tzinfo=UTC)).lines], params)
        made = time.perf_counter() - start
        print(json.dumps({"pool_rows": n_old + n_recent, "synthesised_s": round(made, 1), "load": _load()}), flush=True)
        pfile = _params_file(work, folder, datasets={"recent": {"select": {"since": "2026-01-01"}}})
        result = build(pfile, logs, work / f"out-{size}", "threads", name="recent")
        print(json.dumps({"pool_rows": n_old + n_recent, "dataset": "recent", **result}), flush=True)
        if size != largest:
            shutil.rmtree(logs)
    outs = sorted(work.glob("out-*"))
    same = len({tuple((o / f"{s}.jsonl").read_bytes() for s in ("train", "val", "test")) for o in outs}) == 1
    print(json.dumps({"same_split_files_across_pool_sizes": same}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("rebuild")
    a.add_argument("--lines", type=int, default=100_000)
    a.add_argument("--share", type=float, default=0.01)
    a.add_argument("--runner", default="auto")
    b = sub.add_parser("scale")
    b.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    b.add_argument("--recent", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the harness's server: no telemetry (offline)
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp, prefect_test_harness(server_startup_timeout=120):
        os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()  # one server for every build
        if args.mode == "rebuild":
            rebuild(Path(tmp), args.lines, args.share, args.runner)
        else:
            scale(Path(tmp), args.rows, args.recent)


if __name__ == "__main__":
    main()
