"""The raw-model floor of a cold ingest: read, cut into the fewest model-sized pieces, encode once.

Reads every ``*.txt`` under DIR, cuts each text into the fewest pieces of <= ``--max-tokens``
model tokens (consecutive token windows of the model's own tokenizer) and encodes every piece
once with the same model. Run it as its own process and time the whole process (imports and
model load included): ``bench/ingest_corpus.py`` does that.

    python bench/ingest_floor.py DIR [--max-tokens 254] [--backend torch|onnx|onnx-int8|onnx-fused-int8]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def pieces_of(text: str, tokenizer, max_tokens: int) -> list[str]:
    """The fewest consecutive pieces of ``text`` with at most ``max_tokens`` tokens each."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return [
        text[offsets[start][0]:offsets[min(start + max_tokens, len(offsets)) - 1][1]]
        for start in range(0, len(offsets), max_tokens)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--max-tokens", type=int, default=254)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    start = time.perf_counter()

    from schemas.params import EmbedParams
    from tasks.ingest.embed import load_embedder

    embedder = load_embedder(EmbedParams(backend=args.backend, batch_size=args.batch_size))
    loaded = time.perf_counter()
    texts = [path.read_text(encoding="utf-8") for path in sorted(args.source.rglob("*.txt"))]
    pieces = [piece for text in texts for piece in pieces_of(text, embedder.tokenizer, args.max_tokens)]
    cut = time.perf_counter()
    vectors = embedder.encode(pieces)
    done = time.perf_counter()
    print(json.dumps({
        "documents": len(texts), "pieces": len(pieces), "dimension": int(vectors.shape[1]),
        "load_s": round(loaded - start, 2), "cut_s": round(cut - loaded, 2), "encode_s": round(done - cut, 2),
    }))


if __name__ == "__main__":
    main()
