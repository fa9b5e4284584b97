"""BM25 query-side options on a BEIR folder already ingested by ``bench/beir_eval.py``.

Copies the published chunks (ids, text, section path) of ``--work`` into a scratch LanceDB table
(no vectors) and, for each option, builds the full-text index that option needs and scores BM25
on the tuning and report splits (nDCG@10 with linear gains, recall@100, chunk hits deduplicated to
documents, as ``beir_eval``). Options: LanceDB's tokenizer switches (stemming, stop words, ASCII
folding) and a field boost of the section path (a document's title path, which only the first
chunk's text contains) through a multi-column match.

    python bench/fts_options.py ../shared/benchmarks/nfcorpus [--work DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lancedb
import numpy as np
from lancedb.index import FTS
from lancedb.query import MatchQuery, MultiMatchQuery

from schemas.gate import RetrievalCase
from schemas.params import IngestParams, load_params
from tasks.ingest import beir
from tasks.ingest.search import open_corpus
from tasks.serving.gate import ndcg_at, recall_at

DEPTH = 100
CHUNK_DEPTH = 300

Query = Callable[[str], object]
OPTIONS: dict[str, tuple[dict[str, FTS], Query]] = {
    "default (stem, stop words, ascii folding)": ({"text": FTS()}, lambda q: MatchQuery(q, "text")),
    "no stemming": ({"text": FTS(stem=False)}, lambda q: MatchQuery(q, "text")),
    "keep stop words": ({"text": FTS(remove_stop_words=False)}, lambda q: MatchQuery(q, "text")),
    **{
        f"text + section, section boost {boost}": (
            {"text": FTS(), "section": FTS()},
            lambda q, b=boost: MultiMatchQuery(q, ["text", "section"], boosts=[1.0, b]),
        )
        for boost in (0.3, 0.5, 1.0)
    },
}


def copy_chunks(work: Path, scratch: Path):
    """The published chunk rows of ``work`` (without vectors) as a fresh table under ``scratch``."""
    params = load_params(IngestParams).index.model_copy(update={"db": str(work / "lancedb")})
    corpus = open_corpus(params)
    rows = corpus.table.to_arrow().select(["doc_id", "chunk_id", "text", "section"])
    return lancedb.connect(str(scratch)).create_table("chunks", rows, mode="overwrite")


def score_option(table, indexes: dict[str, FTS], query: Query, splits: dict[str, list[RetrievalCase]]) -> dict:
    """Build the option's indexes, then nDCG@10 / recall@100 per split."""
    for name in {index.name for index in table.list_indices()}:
        table.drop_index(name)
    for column, config in indexes.items():
        table.create_index(column, config=config, replace=True)
    out = {}
    for split, cases in splits.items():
        ndcg, recall = [], []
        for case in cases:
            rows = table.search(query(case.text), query_type="fts").select(["doc_id", "_score"]).limit(CHUNK_DEPTH).to_list()
            ranked = list(dict.fromkeys(row["doc_id"] for row in rows))[:DEPTH]
            ndcg.append(ndcg_at(ranked, case.grades or set(case.relevant), 10))
            recall.append(recall_at(ranked, set(case.relevant), DEPTH))
        out[split] = {"ndcg@10": round(float(np.mean(ndcg)), 4), "recall@100": round(float(np.mean(recall)), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--work", type=Path, help="beir_eval's work folder (default data/beir/<folder name>)")
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = args.work or Path("data/beir") / args.folder.resolve().name
    started = time.monotonic()
    table = copy_chunks(work, Path(tempfile.mkdtemp(prefix="tributary-fts-")))
    splits = {s: beir.read_beir_cases(args.folder, s) for s in args.splits}
    results = {name: score_option(table, indexes, query, splits) for name, (indexes, query) in OPTIONS.items()}
    out = {"folder": str(args.folder), "chunks": table.count_rows(), "results": results, "seconds": round(time.monotonic() - started, 1)}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print("| option | " + " | ".join(f"{s} nDCG@10 | {s} recall@100" for s in args.splits) + " |")
    print("|---|" + "---:|---:|" * len(args.splits))
    for name, values in results.items():
        print(f"| {name} | " + " | ".join(f"{values[s]['ndcg@10']:.4f} | {values[s]['recall@100']:.4f}" for s in args.splits) + " |")


if __name__ == "__main__":
    main()
