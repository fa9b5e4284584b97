"""Chunker settings compared in one process on an NFCorpus slice: chunks, sentence-pass seconds, nDCG@10.

Extracts the first ``--docs`` NFCorpus documents once, chunks them with each setting below (in
batches of 32 documents, as the flow does), embeds every distinct chunk text once (a text shared
by two settings is embedded once) and scores a vector-only nDCG@10 on the dev and test queries
whose judged documents lie in the slice, exactly as ``bench/ingest_corpus.py`` does (a document
ranks by its best chunk). ``floor`` is the floor's cutting: the fewest <= 254-token pieces.

    python bench/chunk_quality.py [--docs 1000] [--settings default,before,...] [--cache vectors.pkl]
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.ingest_corpus import NFCORPUS, graded_ndcg, write_slice
from bench.ingest_floor import pieces_of
from schemas.params import ChunkParams, EmbedParams, ExtractParams
from tasks.common.models import split_sentences
from tasks.ingest.chunk import chunk_documents
from tasks.ingest.discover import discover_documents
from tasks.ingest.embed import load_embedder
from tasks.ingest.extract import extract_documents

SETTINGS = {
    "default": ChunkParams(),
    "before": ChunkParams(packing="greedy", whole_if_fits=False, breakpoint_vectors="model"),
    "greedy-whole-model": ChunkParams(packing="greedy", breakpoint_vectors="model"),
    "greedy-whole-static": ChunkParams(packing="greedy"),
    "fewest-model": ChunkParams(breakpoint_vectors="model"),
}


def judged_queries(split: str, docs: set[str], queries: dict[str, str]) -> dict[str, dict[str, int]]:
    """Graded judgements of ``split`` restricted to documents in the slice."""
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (NFCORPUS / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
        query, doc, score = line.split("\t")
        if doc in docs and int(score) > 0 and query in queries:
            judged[query][doc] = int(score)
    return judged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--settings", default="default,before,floor")
    parser.add_argument("--cache", type=Path, default=None, help="Pickle of text -> vector kept between runs.")
    args = parser.parse_args()

    source = Path(tempfile.mkdtemp(prefix="tributary-chunkq-")) / "docs"
    write_slice(source, args.docs)
    embedder = load_embedder(EmbedParams())
    cache: dict[str, np.ndarray] = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.exists() else {}

    def encode(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in cache))
        if missing:
            cache.update(zip(missing, embedder.encode(missing)))
        return np.stack([cache[text] for text in texts]) if texts else np.zeros((0, embedder.info.dimension), np.float32)

    extracted = extract_documents(discover_documents(str(source)), ExtractParams())
    queries = {q["_id"]: q["text"] for q in map(json.loads, (NFCORPUS / "queries.jsonl").read_text().splitlines())}
    names = {path.stem for path in source.glob("*.txt")}
    splits = {split: judged_queries(split, names, queries) for split in ("dev", "test")}

    def ndcg(texts: list[str], owners: list[str]) -> dict:
        vectors, scores = encode(texts), {}
        for split, judged in splits.items():
            ids = sorted(judged)
            ranked_rows = encode([queries[q] for q in ids]) @ vectors.T
            values = [graded_ndcg(list(dict.fromkeys(owners[i] for i in np.argsort(-row)[:80])), judged[q], 10)
                      for q, row in zip(ids, ranked_rows)]
            scores[split] = {"queries": len(ids), "ndcg@10": round(float(np.mean(values)), 4)}
        return scores

    for name in args.settings.split(","):
        if name == "floor":
            texts, owners = [], []
            for path in sorted(source.glob("*.txt")):
                for piece in pieces_of(path.read_text(encoding="utf-8"), embedder.tokenizer, 254):
                    texts.append(piece)
                    owners.append(path.stem)
            print(json.dumps({"setting": name, "chunks": len(texts), **ndcg(texts, owners)}), flush=True)
            continue
        params = SETTINGS[name]
        sentence_encode = embedder.encode_static if params.breakpoint_vectors == "static" else embedder.encode
        sentences, seconds = [0], [0.0]

        def timed(texts: list[str]) -> np.ndarray:
            start = time.perf_counter()
            vectors = sentence_encode(texts)
            sentences[0] += len(texts)
            seconds[0] += time.perf_counter() - start
            return vectors

        chunked = []
        for start in range(0, len(extracted), 32):
            chunked += chunk_documents(
                extracted[start:start + 32], params, encode=timed, tokenizer=embedder.tokenizer,
                model_max_seq_length=embedder.info.max_seq_length, model_fingerprint=embedder.info.fingerprint,
                sentence_splitter=split_sentences,
            )
        chunks = [chunk for item in chunked for chunk in item.chunks]
        print(json.dumps({
            "setting": name, "chunks": len(chunks), "mean_tokens": round(float(np.mean([c.token_count for c in chunks])), 1),
            "sentences_embedded": sentences[0], "sentence_pass_s": round(seconds[0], 1),
            **ndcg([c.text for c in chunks], [c.doc_id.removesuffix(".txt") for c in chunks]),
        }), flush=True)
    if args.cache:
        args.cache.write_bytes(pickle.dumps(cache))


if __name__ == "__main__":
    main()
