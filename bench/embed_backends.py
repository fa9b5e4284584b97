"""Embed-stage chunks/s per backend (torch, onnx, onnx-int8, onnx-fused-int8) on the same NFCorpus pieces.

Pieces: the first ``--docs`` NFCorpus documents cut into <= 254-token pieces (as the floor does).
Each backend encodes them once after a warm-up, then the pieces' sentences (the chunker's
sentence pass: many short texts); the vectors are compared with torch's (min and mean cosine).
Prints one JSON object.

    python bench/embed_backends.py [--pieces 300] [--backends torch,onnx-fused-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time

import numpy as np

from bench.gpu_embed import corpus_pieces
from schemas.params import EmbedParams
from tasks.ingest.embed import load_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=300)
    parser.add_argument("--backends", default="torch,onnx,onnx-int8,onnx-fused-int8",
                        help="Comma-separated; the first is the reference for the cosines.")
    args = parser.parse_args()
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": os.getloadavg()}
    references: dict[str, np.ndarray] = {}
    for backend in args.backends.split(","):
        embedder = load_embedder(EmbedParams(backend=backend, device="cpu"))
        texts = corpus_pieces(embedder.tokenizer, args.pieces)
        sentences = [s for text in texts for s in re.split(r"(?<=[.!?])\s+", text) if s]
        embedder.encode(texts[:32])
        result[backend] = {}
        for kind, inputs in (("pieces", texts), ("sentences", sentences)):
            start = time.perf_counter()
            vectors = embedder.encode(inputs)
            seconds = time.perf_counter() - start
            reference = references.setdefault(kind, vectors)
            cosines = (vectors * reference).sum(axis=1)
            result[backend][kind] = {"texts": len(inputs), "seconds": round(seconds, 2),
                                     "per_s": round(len(inputs) / seconds, 1),
                                     "min_cos_vs_reference": round(float(cosines.min()), 5),
                                     "mean_cos_vs_reference": round(float(np.mean(cosines)), 5)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
