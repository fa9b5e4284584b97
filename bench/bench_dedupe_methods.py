"""Precision and recall of each dedupe method on public pairs, and the thresholds picked from them.

Run by hand: ``python -m bench.bench_dedupe_methods [--limit N]``. Reads
``../shared/benchmarks/dedupe/`` (MRPC train, STS-B dev) relative to the repo root; never copies
them. For each pair it scores: MinHash estimated Jaccard (128 permutations, 3-word shingles),
shingle containment of the shorter text in the longer (``text_containment``: the dedupe's own rule,
distinct shingle hashes, 0 under 3 shingles), and the cosine of the project's embedding model
(all-MiniLM-L6-v2; ``--methods minhash,containment`` leaves it out, and the embedding). Labels:

- ``mrpc``: Quality 1 (paraphrase) is positive. Many negatives report the same event with other
  facts: what a dedupe must not merge.
- ``stsb``: score >= 4.0 ("mostly equivalent") is positive, < 4.0 negative.
- ``excerpt``: built from MRPC sentences: each sentence #1 against a longer text that contains it
  (sentence #1 of this pair plus the next pair's two sentences): a copied excerpt, positive; and
  against the same longer text built around the next-but-one pair: negative.
- ``edit``: each sentence #1 against itself with one word dropped and one appended: positive.

The rule users expect: copies, light edits and copied excerpts are duplicates; texts on the same
topic written independently are not. So the thresholds are picked for precision on MRPC/STS-B
(>= 0.9 where reachable) and recall on ``excerpt`` and ``edit``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from tasks.dataset.dedupe import minhash_signatures
from tasks.dataset.similarity import embed_texts, text_containment

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "benchmarks" / "dedupe"


def read_mrpc(limit: int | None) -> list[tuple[str, str, int]]:
    with (DATA / "mrpc-train.tsv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [(r[3], r[4], int(r[0])) for r in rows[:limit]]


def read_stsb(limit: int | None) -> list[tuple[str, str, int]]:
    with (DATA / "stsb-dev.tsv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if len(r) >= 7]
    return [(r[5], r[6], int(float(r[4]) >= 4.0)) for r in rows[:limit]]


def synthetic(mrpc: list[tuple[str, str, int]]) -> dict[str, list[tuple[str, str, int]]]:
    n = len(mrpc)
    excerpt, edit = [], []
    for i, (a, _, _) in enumerate(mrpc):
        nxt, other = mrpc[(i + 1) % n], mrpc[(i + 2) % n]
        excerpt.append((a, " ".join([nxt[0], a, nxt[1]]), 1))
        excerpt.append((a, " ".join([other[0], nxt[0], other[1]]), 0))
        words = a.split()
        edit.append((a, " ".join(words[:-1] + ["indeed"]) if len(words) > 3 else a + " indeed", 1))
    return {"excerpt": excerpt, "edit": edit}


def embed_all(sets: dict[str, list[tuple[str, str, int]]]) -> dict[str, np.ndarray]:
    """Every distinct text embedded once."""
    texts = sorted({t for pairs in sets.values() for p in pairs for t in p[:2]})
    return dict(zip(texts, embed_texts(texts, "all-MiniLM-L6-v2"), strict=True))


def scores(pairs: list[tuple[str, str, int]], vectors: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    left, right = [p[0] for p in pairs], [p[1] for p in pairs]
    a, b = minhash_signatures(left, 128, 3), minhash_signatures(right, 128, 3)
    found = {"minhash": (a == b).mean(axis=1),
             "containment": np.array([text_containment(x, y, 3, 3) for x, y, _ in pairs])}
    if vectors is not None:
        found["semantic"] = np.array([float(vectors[x] @ vectors[y]) for x, y, _ in pairs])
    return found


def precision_recall(score: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    predicted = score >= threshold
    tp = int((predicted & (labels == 1)).sum())
    precision = tp / int(predicted.sum()) if predicted.any() else 1.0
    recall = tp / int((labels == 1).sum()) if (labels == 1).any() else 0.0
    return round(precision, 3), round(recall, 3)


GRID = {
    "minhash": [0.5, 0.6, 0.7, 0.8, 0.9],
    "containment": [0.6, 0.7, 0.8, 0.9],
    "semantic": [0.85, 0.9, 0.93, 0.95, 0.97],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="Pairs read from each corpus.")
    parser.add_argument("--methods", default="minhash,containment,semantic", help="Methods scored (comma-separated).")
    args = parser.parse_args()
    methods = args.methods.split(",")
    mrpc = read_mrpc(args.limit)
    sets = {"mrpc": mrpc, "stsb": read_stsb(args.limit), **synthetic(mrpc)}
    report: dict = {}
    start = time.perf_counter()
    vectors = embed_all(sets) if "semantic" in methods else None
    if vectors is not None:
        print(json.dumps({"embedded": len(vectors), "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    for name, pairs in sets.items():
        start = time.perf_counter()
        by_method = scores(pairs, vectors)
        labels = np.array([p[2] for p in pairs])
        report[name] = {
            "pairs": len(pairs),
            "positives": int(labels.sum()),
            "seconds": round(time.perf_counter() - start, 1),
            **{m: {str(t): precision_recall(s, labels, t) for t in GRID[m]} for m, s in by_method.items() if m in methods},
        }
        print(json.dumps({name: report[name]}), flush=True)


if __name__ == "__main__":
    main()
