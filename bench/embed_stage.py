"""Embed stage against raw ``SentenceTransformer.encode`` on the same chunks, in the same process.

Chunks come from the generated benchmark corpus (extract + semantic chunk, not timed). Both
sides embed the same texts, alternating order, best of ``--repeat`` runs. Target ratio
(raw seconds / stage seconds) >= 1.0 on CPU.

    python bench/embed_stage.py [--docs 200] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tools.bench_corpus import generate_corpus
from schemas.params import ChunkParams, EmbedParams, ExtractParams
from tasks.ingest.discover import discover_documents
from tasks.ingest.embed import load_embedder
from tasks.ingest.prefect_tasks import chunk_batch
from tasks.ingest.extract import extract_documents


def best_of(repeat: int, run) -> float:
    """Fastest wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    source = Path(tempfile.mkdtemp(prefix="tributary-embed-"))
    generate_corpus(source, args.docs, seed=0)
    params = EmbedParams()
    extracted = extract_documents(discover_documents(source), ExtractParams())
    chunked = chunk_batch(extracted, ChunkParams(), params)
    texts = [chunk.text for item in chunked for chunk in item.chunks]
    embedder = load_embedder(params)
    raw_model = embedder.model

    stage = lambda: embedder.encode(texts)  # noqa: E731
    raw = lambda: raw_model.encode(texts)  # noqa: E731 - the library's defaults
    stage(), raw()  # warm-up
    raw_s, stage_s = best_of(args.repeat, raw), best_of(args.repeat, stage)
    same = np.allclose(embedder.encode(texts[:64]), raw_model.encode(texts[:64], normalize_embeddings=True), atol=1e-5)
    result = {
        "chunks": len(texts),
        "device": str(raw_model.device),
        "threads": int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count(),
        "raw_s": round(raw_s, 3),
        "stage_s": round(stage_s, 3),
        "raw_chunks_per_s": round(len(texts) / raw_s, 1),
        "stage_chunks_per_s": round(len(texts) / stage_s, 1),
        "ratio": round(raw_s / stage_s, 3),
        "same_vectors": bool(same),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
