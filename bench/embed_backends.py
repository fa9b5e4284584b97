"""Embed-stage chunks/s per backend (torch, onnx, onnx-int8) on the same NFCorpus pieces.

Pieces: the first ``--docs`` NFCorpus documents cut into <= 254-token pieces (as the floor does).
Each backend encodes them once after a warm-up; the vectors are compared with torch's (min and
mean cosine). Prints one JSON object.

    python bench/embed_backends.py [--docs 150]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from bench.gpu_embed import corpus_pieces
from schemas.params import EmbedParams
from tasks.ingest.embed import load_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=300)
    args = parser.parse_args()
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": os.getloadavg()}
    reference = None
    for backend in ("torch", "onnx", "onnx-int8"):
        embedder = load_embedder(EmbedParams(backend=backend, device="cpu"))
        texts = corpus_pieces(embedder.tokenizer, args.pieces)
        embedder.encode(texts[:32])
        start = time.perf_counter()
        vectors = embedder.encode(texts)
        seconds = time.perf_counter() - start
        reference = vectors if reference is None else reference
        cosines = (vectors * reference).sum(axis=1)
        result[backend] = {"chunks": len(texts), "seconds": round(seconds, 2),
                           "chunks_per_s": round(len(texts) / seconds, 1),
                           "min_cos_vs_torch": round(float(cosines.min()), 5),
                           "mean_cos_vs_torch": round(float(np.mean(cosines)), 5)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
