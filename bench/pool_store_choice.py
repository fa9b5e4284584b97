"""LanceDB table or partitioned parquet for the example pool: the measurement behind the choice.

Writes N pool-shaped rows (a 32-byte key, selection fields, ~1.5 KB of redacted messages, a
128 x uint32 MinHash signature) in batches of 2,000, reads a filtered selection (one category in a
date range, the columns a dataset build reads), looks up 2,000 rows by key, then appends 1,000
rows; each with wall time.

    .venv/bin/python bench/pool_store_choice.py --rows 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

CATEGORIES = ["billing", "coding", "travel", "health", "legal", "cooking", "sports", "music"]


def _rows(start: int, n: int, rng: np.random.Generator) -> pa.Table:
    keys = [hashlib.sha256(str(i).encode()).digest() for i in range(start, start + n)]
    text = "x" * 700
    messages = [json.dumps([{"role": "user", "content": f"{i} {text}"}, {"role": "assistant", "content": text}]) for i in range(start, start + n)]
    return pa.table(
        {
            "line_hash": pa.array(keys, pa.binary(32)),
            "category": pa.array([CATEGORIES[i % 8] for i in range(start, start + n)]),
            "timestamp": pa.array(rng.integers(1_700_000_000, 1_730_000_000, n) * 1_000_000, pa.timestamp("us", "UTC")),
            "quality_score": pa.array(rng.random(n)),
            "example": pa.array(messages),
            "signature": pa.FixedSizeListArray.from_arrays(pa.array(rng.integers(0, 2**32, n * 128, dtype=np.uint32)), 128),
        }
    )


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def parquet(root: Path, n: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    parts = root / "parts"
    parts.mkdir(parents=True)

    def write(start: int, count: int) -> None:
        tmp = parts / f".part-{start:09d}.tmp"
        pq.write_table(_rows(start, count, rng), tmp, compression="zstd")
        os.replace(tmp, parts / f"part-{start:09d}.parquet")

    _, t_write = _timed(lambda: [write(s, min(2000, n - s)) for s in range(0, n, 2000)])
    dataset = ds.dataset(parts, format="parquet")
    flt = (pc.field("category") == "coding") & (pc.field("timestamp") >= pa.scalar(1_710_000_000_000_000, pa.timestamp("us", "UTC")))
    sel, t_select = _timed(lambda: ds.dataset(parts, format="parquet").to_table(columns=["line_hash", "quality_score", "example"], filter=flt))
    wanted = pa.array([hashlib.sha256(str(i).encode()).digest() for i in range(n // 2, n // 2 + 2000)], pa.binary(32))
    hit, t_lookup = _timed(lambda: dataset.to_table(filter=pc.field("line_hash").isin(wanted)))
    _, t_append = _timed(lambda: write(n, 1000))
    return {"write_s": t_write, "select_s": t_select, "selected": sel.num_rows, "lookup_2000_s": t_lookup,
            "found": hit.num_rows, "append_1000_s": t_append}


def lance(root: Path, n: int) -> dict[str, float]:
    import lancedb

    rng = np.random.default_rng(0)
    db = lancedb.connect(root)

    def write_all():
        table = db.create_table("pool", _rows(0, min(2000, n), rng))
        for s in range(2000, n, 2000):
            table.add(_rows(s, min(2000, n - s), rng))
        return table

    table, t_write = _timed(write_all)
    where = "category = 'coding' AND timestamp >= timestamp '2024-03-09 16:26:40'"
    sel, t_select = _timed(lambda: table.search().where(where).select(["line_hash", "quality_score", "example"]).limit(None).to_arrow())
    wanted = ", ".join(f"X'{hashlib.sha256(str(i).encode()).hexdigest()}'" for i in range(n // 2, n // 2 + 2000))
    hit, t_lookup = _timed(lambda: table.search().where(f"line_hash IN ({wanted})").limit(None).to_arrow())
    _, t_append = _timed(lambda: table.add(_rows(n, 1000, rng)))
    return {"write_s": t_write, "select_s": t_select, "selected": sel.num_rows, "lookup_2000_s": t_lookup,
            "found": hit.num_rows, "append_1000_s": t_append}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps({"load": os.getloadavg(), "rows": args.rows}))
    for name, fn in (("parquet", parquet), ("lancedb", lance)):
        root = Path(tempfile.mkdtemp(prefix=f"pool-{name}-"))
        try:
            out = fn(root, args.rows)
            out["disk_mb"] = round(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20, 1)
            print(json.dumps({"store": name, **{k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}}))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"load": os.getloadavg()}))


if __name__ == "__main__":
    main()
