"""Cache writes: ``put`` one entry at a time (one commit or round trip each) vs ``put_many`` (one transaction,
or Redis pipelines of 1,000), for both backends, with the same entries.

    python -m bench.bench_cache_writes --entries 10000

Prints one line a figure; run ``uptime`` next to it (figures in docs/benchmarks.md, Session 4: cache writes).
The sqlite file lives in ``--dir`` (default: a temporary folder) because fsync cost depends on the disk.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from tempfile import TemporaryDirectory


def made_entries(count: int) -> list:
    """``count`` warm-set-like entries: a 200-character response, two documents, a user hash, a TTL."""
    from schemas.cache import CacheEntry

    now = datetime.now(timezone.utc)
    return [CacheEntry(key=f"tributary:v1:{i:064x}", response="r" * 200, model="m", model_version="m1", corpus_version="v1",
                       doc_ids=(f"d{i % 97}.md", f"d{i % 89}.md"), created_at=now, ttl=86400, user_hash=f"u{i % 500:031d}")
            for i in range(count)]


def timed(write) -> float:
    start = time.perf_counter()
    write()
    return time.perf_counter() - start


def bench_sqlite(entries: list, folder: Path) -> None:
    from tasks.serving.store import SqliteCacheStore

    one, many = SqliteCacheStore(folder / "put.sqlite3"), SqliteCacheStore(folder / "put_many.sqlite3")
    single = timed(lambda: [one.put(entry) for entry in entries])
    batched = timed(lambda: many.put_many(entries))
    same = one._db.execute("SELECT * FROM entries ORDER BY key").fetchall() == many._db.execute("SELECT * FROM entries ORDER BY key").fetchall()
    print(f"sqlite: {len(entries)} entries: put one by one {single:.2f} s ({len(entries) / single:,.0f}/s); put_many "
          f"{batched:.2f} s ({len(entries) / batched:,.0f}/s); ratio {single / batched:.0f}x; same rows: {same}")
    one.close()
    many.close()


def bench_redis(entries: list) -> None:
    from tasks.serving.store import RedisCacheStore
    from tests.tasks.serving.conftest import find_redis_server, free_port

    port = free_port()
    server = subprocess.Popen([str(find_redis_server()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        store = RedisCacheStore.from_url(f"redis://127.0.0.1:{port}/0")
        single = timed(lambda: [store.put(entry) for entry in entries])
        keys = store._redis.dbsize()
        store._redis.flushdb()
        batched = timed(lambda: store.put_many(entries))
        print(f"redis (loopback, no persistence): {len(entries)} entries: put one by one {single:.2f} s "
              f"({len(entries) / single:,.0f}/s); put_many {batched:.2f} s ({len(entries) / batched:,.0f}/s); "
              f"ratio {single / batched:.1f}x; same key count: {keys == store._redis.dbsize()}")
        store.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--dir", type=Path, default=None, help="folder for the sqlite files (default: a temporary one)")
    args = parser.parse_args()
    entries = made_entries(args.entries)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with TemporaryDirectory(dir=args.dir) as folder:
        bench_sqlite(entries, Path(folder))
    bench_redis(entries)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
