"""Retrieval quality of vector, full-text and hybrid search on the labelled sample set.

Ingests ``data/sample/docs`` (plus ``--distractors N`` generated off-topic documents, which make
recall@10 non-trivial) into a temporary LanceDB (unless ``--db`` names an existing one),
runs every query of ``data/sample/eval/retrieval.jsonl`` in each mode and prints recall@k and
nDCG@k per mode as a markdown table (and JSON with ``--json``).

    python bench/retrieval_quality.py [--k 10] [--distractors 300] [--db DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tools.bench_corpus import generate_corpus
from schemas.params import IndexParams, IngestParams, load_params
from tasks.ingest.search import open_corpus, search
from tasks.serving.gate import ndcg_at, ranked_documents, recall_at

EVAL_SET = Path("data/sample/eval/retrieval.jsonl")
MODES = ("vector", "fts", "hybrid")


def evaluate(index: IndexParams, k: int) -> dict[str, dict[str, float]]:
    """recall@k and nDCG@k per mode, averaged over the eval set (documents, not chunks, are judged)."""
    queries = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    corpus = open_corpus(index)
    scores = {}
    for mode in MODES:
        results = search(corpus, [q["text"] for q in queries], k=k * 5, mode=mode)
        ranked = [ranked_documents(hits) for hits in results]
        scores[mode] = {
            f"recall@{k}": sum(recall_at(r, set(q["relevant"]), k) for r, q in zip(ranked, queries)) / len(queries),
            f"ndcg@{k}": sum(ndcg_at(r, set(q["relevant"]), k) for r, q in zip(ranked, queries)) / len(queries),
            "hit@1": sum(bool(r) and r[0] in q["relevant"] for r, q in zip(ranked, queries)) / len(queries),
        }
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--db", help="an already ingested LanceDB folder (default: ingest the sample into a temp folder)")
    parser.add_argument("--distractors", type=int, default=0, help="generated off-topic documents added to the corpus")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    params = load_params(IngestParams)
    if args.db:
        index = params.index.model_copy(update={"db": args.db})
    else:
        from flows.ingest import ingest_flow

        work = Path(tempfile.mkdtemp(prefix="tributary-eval-"))
        shutil.copytree(params.source_dir, work / "docs")
        if args.distractors:
            generate_corpus(work / "docs" / "distractors", args.distractors, seed=7)
        index = params.index.model_copy(update={"db": str(work / "lancedb")})
        ingest_flow(params.model_copy(update={"source_dir": str(work / "docs"), "index": index}))
    scores = evaluate(index, args.k)
    if args.json:
        print(json.dumps(scores))
        return
    columns = list(next(iter(scores.values())))
    print("| mode | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns), sep="\n")
    for mode, values in scores.items():
        print(f"| {mode} | " + " | ".join(f"{values[c]:.3f}" for c in columns) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
