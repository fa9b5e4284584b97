"""GPU chunks/s: naive ``SentenceTransformer.encode`` against our device path, one prepared run.

Run once on a machine with CUDA (it refuses without one). Texts: NFCorpus abstracts cut into
<= 254-token pieces (``../shared/benchmarks/nfcorpus``), repeated to ``--chunks``. Measures, after
a warm-up each:

- ``naive``: ``model.encode(texts, batch_size=B, normalize_embeddings=True)`` (fp32);
- ``ours``: ``tasks.ingest.embed.encode_on_device`` (pre-tokenised in large batches,
  length-sorted, fp16 autocast);
- ``forward_only``: the fp16 forward pass on pre-built tensors (the device's ceiling);

and checks our vectors against the naive ones (min cosine). Prints one JSON object.

    python bench/gpu_embed.py [--chunks 50000] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

NFCORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "nfcorpus"


def corpus_pieces(tokenizer, limit: int) -> list[str]:
    """NFCorpus texts cut into <= 254-token pieces, repeated up to ``limit``."""
    from bench.ingest_floor import pieces_of

    pieces: list[str] = []
    with gzip.open(NFCORPUS / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            pieces.extend(pieces_of(f"{record['title']}\n\n{record['text']}", tokenizer, 254))
            if len(pieces) >= limit:
                break
    return (pieces * (limit // max(1, len(pieces)) + 1))[:limit]


def timed(run) -> float:
    import torch

    torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=50000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark measures the GPU path only")
    from tasks.common.models import load_embedding_model
    from tasks.ingest.embed import encode_on_device

    model = load_embedding_model("all-MiniLM-L6-v2", "cuda")
    texts = corpus_pieces(model.tokenizer, args.chunks)
    warm = texts[: args.batch_size * 4]
    model.encode(warm, batch_size=args.batch_size)
    encode_on_device(model, warm, args.batch_size)

    naive_vectors = {}
    naive_s = timed(lambda: naive_vectors.setdefault("v", model.encode(
        texts, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)))
    ours_vectors = {}
    ours_s = timed(lambda: ours_vectors.setdefault("v", encode_on_device(model, texts, args.batch_size)))

    batch = model.tokenizer(texts[: args.batch_size], padding="max_length", truncation=True,
                            max_length=model.max_seq_length, return_tensors="pt").to("cuda")
    rounds = max(1, len(texts) // args.batch_size)

    def forward() -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
            for _ in range(rounds):
                model(dict(batch))

    forward_s = timed(forward)
    cosines = (np.asarray(naive_vectors["v"]) * ours_vectors["v"]).sum(axis=1)
    print(json.dumps({
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "chunks": len(texts),
        "batch_size": args.batch_size,
        "naive_chunks_per_s": round(len(texts) / naive_s, 1),
        "ours_chunks_per_s": round(len(texts) / ours_s, 1),
        "forward_only_chunks_per_s_at_256_tokens": round(rounds * args.batch_size / forward_s, 1),
        "min_cosine_ours_vs_naive": round(float(cosines.min()), 5),
    }, indent=2))


if __name__ == "__main__":
    main()
