"""What forgetting costs: one user's cache entries found by index vs by scanning, and the warm set's redaction
done as the dataset build does it (whole conversation) vs the response alone (what it did before).

    python -m bench.bench_forget --entries 50000 --users 5000 --logs 6000

Prints one line a figure; run ``uptime`` next to it (figures in docs/benchmarks.md, Session 4).
"""

from __future__ import annotations

import argparse
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from tempfile import TemporaryDirectory


def bench_cache(entries: int, users: int) -> None:
    """delete_for_user in both backends vs a scan of every entry for the same user."""
    from schemas.cache import CacheEntry
    from tasks.serving.store import RedisCacheStore, SqliteCacheStore
    from tests.tasks.serving.conftest import find_redis_server, free_port

    now = datetime.now(timezone.utc)
    made = [CacheEntry(key=f"tributary:v1:{i:064x}", response="r" * 200, model="m", doc_ids=(f"d{i % 97}",),
                       created_at=now, user_hash=f"u{i % users:031d}") for i in range(entries)]
    one, other = f"u{1:031d}", f"u{2:031d}"
    with TemporaryDirectory() as folder:
        store = SqliteCacheStore(Path(folder) / "cache.sqlite3")
        start = time.perf_counter()
        for entry in made:
            store.put(entry)
        print(f"sqlite: put {entries} entries one by one: {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        deleted = store.delete_for_user(one)
        total = time.perf_counter() - start
        start = time.perf_counter()
        hits = store._db.execute("SELECT key FROM entries WHERE user_hash = ?", (other,)).fetchall()
        indexed = time.perf_counter() - start
        start = time.perf_counter()
        rows = store._db.execute("SELECT key FROM entries WHERE json_extract(entry, '$.user_hash') = ?", (other,)).fetchall()
        scan = time.perf_counter() - start
        print(f"sqlite: delete_for_user ({deleted} of {entries}) {total * 1000:.1f} ms in all (one commit); finding one "
              f"user's entries by the index ({len(hits)}) {indexed * 1000:.2f} ms vs scanning every entry's JSON "
              f"({len(rows)}) {scan * 1000:.1f} ms; ratio {scan / indexed:.0f}x")
        store.close()
    port = free_port()
    server = subprocess.Popen([str(find_redis_server()), "--port", str(port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        redis = RedisCacheStore.from_url(f"redis://127.0.0.1:{port}/0")
        for entry in made:
            redis.put(entry)
        start = time.perf_counter()
        deleted = redis.delete_for_user(one)
        indexed = time.perf_counter() - start
        start = time.perf_counter()
        keys = list(redis._redis.scan_iter(match="tributary:v1:*", count=1000))
        found = [key for key, raw in zip(keys, redis._redis.mget(keys)) if f'"{other}"' in raw]
        scan = time.perf_counter() - start
        print(f"redis: delete_for_user ({deleted} of {entries}) {indexed * 1000:.2f} ms; SCAN + MGET of every entry "
              f"for one user ({len(found)}) {scan * 1000:.0f} ms; ratio {scan / indexed:.0f}x")
        redis.close()
    finally:
        server.terminate()


def bench_warm_redaction(lines: int) -> None:
    """The warm set's calls redacted as the dataset build does (``redact_like_dataset``) vs the responses alone."""
    from schemas.logs import LLMInteractionLog
    from schemas.params import DatasetParams, ServingParams
    from tasks.pii.redact import redact_strings
    from tasks.serving.warm import redact_like_dataset, warm_decision
    from tools.synthetic_logs import generate_logs

    logs = [LLMInteractionLog.model_validate_json(line) for line in generate_logs(lines, seed=5, bad_rate=0.0).lines]
    chosen = [log for log in logs if warm_decision(log, ServingParams().cache.positive_feedback)[0]]
    dataset = DatasetParams()
    dataset = dataset.model_copy(update={"redact": dataset.redact.model_copy(update={"workers": 1})})
    redact_strings(["warm up, Jane Doe"], dataset.redact)
    for _ in range(2):
        start = time.perf_counter()
        redact_strings([log.response for log in chosen], dataset.redact)
        alone = time.perf_counter() - start
        start = time.perf_counter()
        redact_like_dataset(chosen, dataset)
        whole = time.perf_counter() - start
        print(f"warm redaction of {len(chosen)} calls: responses alone {alone:.2f} s, whole conversations "
              f"{whole:.2f} s, ratio {whole / alone:.2f}")


def main() -> None:
    """Parse the sizes and run both figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--logs", type=int, default=6_000)
    args = parser.parse_args()
    bench_warm_redaction(args.logs)
    bench_cache(args.entries, args.users)


if __name__ == "__main__":
    main()
