"""Retrieval quality on a BEIR-format folder through the real ingest and batch search.

Writes the folder's corpus as ``<corpus-id>.txt`` documents (title first), ingests them ONCE with the
project's ingest flow into ``--work`` (default ``data/beir/<folder name>``; reused when a version is
already published there), then for each mode searches every judged query: vector, fts (BM25) and
hybrid under a grid of fusion settings. Hybrid settings are tuned on ``qrels/<--tune>.tsv`` (default
dev) and the best one is reported on ``qrels/<--report>.tsv`` (default test). Metrics: nDCG@10 with
linear graded gains (as pytrec_eval / BEIR) and recall@100, chunk hits deduplicated to documents.

    python bench/beir_eval.py ../shared/benchmarks/nfcorpus [--work DIR] [--tune dev] [--report test] [--json]

A folder without the tuning split is evaluated on the report split only with the default fusion.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from schemas.gate import RetrievalCase
from schemas.params import IngestParams, load_params
from tasks.ingest import beir, versions
from tasks.ingest.search import DEFAULT_FUSION, Corpus, Fusion, open_corpus, search_vectors
from tasks.serving.gate import ndcg_at, ranked_documents, recall_at

DEPTH = 100
CHUNK_DEPTH = 300
"""Chunks asked of vector / fts so that ~100 distinct documents remain after the dedupe."""
GRID = [
    Fusion(method="linear", weight=w, candidates=c, normalise=n)
    for w, c, n in itertools.product((0.2, 0.3, 0.4, 0.5, 0.6, 0.7), (1, 2, 3), ("max", "minmax"))
] + [Fusion(method="rrf", weight=w, candidates=c, rrf_k=r) for w, c, r in itertools.product((0.3, 0.5, 0.7), (1, 2, 3), (20, 60))]


def ingest_once(folder: Path, work: Path) -> IngestParams:
    """Lay the corpus out under ``work/docs`` and ingest it unless ``work/lancedb`` already has a version."""
    params = load_params(IngestParams)
    index = params.index.model_copy(update={"db": str(work / "lancedb")})
    params = params.model_copy(update={"source_dir": str(work / "docs"), "index": index})
    root = versions.manifest_root(index)
    if root.is_dir() and versions.read_pointer(root, versions.CURRENT):
        return params
    beir.write_documents(beir.read_corpus(beir.corpus_path(folder)), work / "docs")
    from flows.ingest import ingest_flow

    ingest_flow(params)
    return params


def score(rankings: list[list[str]], cases: list[RetrievalCase]) -> dict[str, float]:
    """Mean nDCG@10 (graded, linear gains) and recall@100 over the cases."""
    ndcg = [ndcg_at(r, case.grades or set(case.relevant), 10) for r, case in zip(rankings, cases)]
    recall = [recall_at(r, set(case.relevant), DEPTH) for r, case in zip(rankings, cases)]
    return {"ndcg@10": round(float(np.mean(ndcg)), 4), "recall@100": round(float(np.mean(recall)), 4)}


def run_mode(corpus: Corpus, cases: list[RetrievalCase], vectors: np.ndarray, mode: str, fusion: Fusion = DEFAULT_FUSION) -> dict[str, float]:
    """One mode's scores on ``cases`` (``vectors`` are their query embeddings)."""
    texts = [case.text for case in cases]
    depth = DEPTH if mode == "hybrid" else CHUNK_DEPTH
    hits = search_vectors(corpus, texts, vectors, depth, mode, fusion)  # type: ignore[arg-type]
    return score([ranked_documents(row)[:DEPTH] for row in hits], cases)


def label(fusion: Fusion) -> str:
    """A short name of a fusion setting."""
    if fusion.method == "rrf":
        return f"rrf w={fusion.weight} c={fusion.candidates} k={fusion.rrf_k}"
    return f"linear w={fusion.weight} c={fusion.candidates} {fusion.normalise}"


def evaluate(folder: Path, work: Path, tune: str, report: str) -> dict:
    """Ingest once, tune hybrid on ``tune``, score every mode on both splits."""
    params = ingest_once(folder, work)
    corpus = open_corpus(params.index)
    splits = {s: beir.read_beir_cases(folder, s) for s in dict.fromkeys((tune, report)) if (folder / "qrels" / f"{s}.tsv").is_file()}
    vectors = {s: corpus.embedder.encode([c.text for c in cases]) for s, cases in splits.items()}
    best = DEFAULT_FUSION
    tuning = {}
    if tune in splits and tune != report:
        tuning = {label(f): run_mode(corpus, splits[tune], vectors[tune], "hybrid", f) for f in GRID}
        best = max(GRID, key=lambda f: tuning[label(f)]["ndcg@10"])
    results = {}
    for split, cases in splits.items():
        results[split] = {mode: run_mode(corpus, cases, vectors[split], mode) for mode in ("vector", "fts")}
        results[split]["hybrid (default fusion)"] = run_mode(corpus, cases, vectors[split], "hybrid", DEFAULT_FUSION)
        results[split][f"hybrid ({label(best)})"] = run_mode(corpus, cases, vectors[split], "hybrid", best)
    return {"folder": str(folder), "version": corpus.manifest.version, "best_fusion": label(best),
            "queries": {s: len(c) for s, c in splits.items()}, "results": results, "tuning": tuning}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--work", type=Path, help="documents and LanceDB (default data/beir/<folder name>)")
    parser.add_argument("--tune", default="dev")
    parser.add_argument("--report", default="test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    out = evaluate(args.folder, args.work or Path("data/beir") / args.folder.resolve().name, args.tune, args.report)
    out["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{out['folder']} ({out['version']}), queries {out['queries']}, best fusion on {args.tune}: {out['best_fusion']}")
    print("| split | mode | nDCG@10 | recall@100 |", "|---|---|---:|---:|", sep="\n")
    for split, modes in out["results"].items():
        for mode, values in modes.items():
            print(f"| {split} | {mode} | {values['ndcg@10']:.4f} | {values['recall@100']:.4f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
