"""Dedupe throughput and peak memory at 10k / 100k / 1M synthetic examples.

Signatures (``minhash_signatures``: MinHash in numpy, in worker processes) and LSH
(``similar_pairs``: numpy banding with ``MinHashLSH``'s bands + pair verification) are timed
separately; each scale runs in a fresh process so its peak RSS is its own.

    .venv/bin/python bench/bench_dedupe.py --sizes 10000 100000 1000000 [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import synthetic_logs as sl  # noqa: E402


def synthetic_texts(n: int, seed: int = 0, near_rate: float = 0.05) -> list[str]:
    """Support-reply-like texts (user question + 3-step answer), 5% near copies of earlier ones."""
    rng = random.Random(seed)
    texts: list[str] = []
    categories = list(sl.CATEGORIES)
    for _ in range(n):
        if texts and rng.random() < near_rate:
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = "kindly"
            texts.append(" ".join(words))
            continue
        category = rng.choice(categories)
        topic, product = rng.choice(sl.CATEGORIES[category]), rng.choice(sl.PRODUCTS)
        steps = rng.sample(sl.STEPS, 3)
        texts.append(
            f"user: {rng.choice(sl.OPENERS)} I have a problem with the {topic} in {product} "
            f"(case {rng.randrange(10**7)}). "
            f"{rng.choice(sl.DETAILS)}\nassistant: {rng.choice(sl.ACKS)} "
            + " ".join(f"{k}. {s}" for k, s in enumerate(steps, 1)).format(topic=topic, product=product)
            + f" {rng.choice(sl.CLOSINGS)} Ticket {rng.randrange(10**7)}."
        )
    return texts


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(n: int, workers: int) -> dict:
    """Time signatures and LSH for ``n`` texts in this process."""
    from tasks.dataset.dedupe import minhash_signatures, similar_pairs

    texts = synthetic_texts(n)
    base = _rss_mb()
    t0 = time.perf_counter()
    signatures = minhash_signatures(texts, 128, 3, workers=workers)
    t1 = time.perf_counter()
    sig_rss = _rss_mb()
    pairs = similar_pairs(signatures, 0.8)
    t2 = time.perf_counter()
    return {
        "docs": n,
        "workers": workers,
        "signatures_s": round(t1 - t0, 2),
        "signatures_docs_per_s": round(n / (t1 - t0)),
        "lsh_s": round(t2 - t1, 2),
        "lsh_docs_per_s": round(n / (t2 - t1)),
        "total_docs_per_s": round(n / (t2 - t0)),
        "near_pairs": len(pairs),
        "rss_after_texts_mb": round(base),
        "rss_after_signatures_mb": round(sig_rss),
        "peak_rss_mb": round(_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.workers)))
        return
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--workers", str(args.workers)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
