"""The pair store on a rebuild: dedupe pairs computed for +1% rows against a cold computation.

Synthesises a pool of N redacted rows directly (the columns the pair store reads: outcome,
fingerprints, example id, MinHash signature of a generated text, with ``--semantic`` a random
normalised 384-wide embedding, with ``--containment`` the redacted example (JSON) whose dedupe text is
the generated one; 1 row in 50 a light edit of another, with ``--containment`` 1 in 50 more an excerpt of
another and every user turn opening with one of four stock phrases, so common shingles abound),
2,000 rows a part, then:

- cold: ``update_pairs`` over every row (the first build over the pool);
- rebuild: N/100 new rows appended as one part, ``update_pairs`` again (compares only them);
- recompute: what a build without the store does, ``similar_pairs`` (or the blockwise semantic pass, or
  ``distinct_shingle_hashes`` + ``hashed_containment_pairs`` over the dedupe texts) over all N + N/100 rows;

each with its seconds and the Python heap peak (tracemalloc; numpy's buffers are traced).

    .venv/bin/python bench/bench_pairs.py --rows 20000 --semantic
    .venv/bin/python bench/bench_pairs.py --rows 20000 --containment
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.params import DatasetParams  # noqa: E402
from tasks.dataset.dedupe import minhash_signatures, similar_pairs  # noqa: E402
from tasks.dataset.pairs import update_pairs  # noqa: E402
from tasks.dataset.pool import PARTS, fingerprints  # noqa: E402
from tasks.dataset.similarity import distinct_shingle_hashes, hashed_containment_pairs, semantic_pairs_blockwise  # noqa: E402

WORDS = [f"w{i}" for i in range(5000)]
OPENINGS = ["please help me with my order", "can you tell me how to", "i have a question about my account",
            "what is the best way to"]


def _chat_texts(n: int, seed: int) -> list[tuple[str, str]]:
    """``(user, assistant)`` turns: stock openings, random words, 1 in 50 a light edit, 1 in 50 an excerpt."""
    rng = random.Random(seed)
    turns: list[tuple[str, str]] = []
    for i in range(n):
        if i % 50 == 49 and turns:  # a light edit of an earlier text
            user, answer = rng.choice(turns)
            words = answer.split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            turns.append((user, " ".join(words)))
        elif i % 50 == 24 and turns:  # an excerpt of an earlier answer, asked again
            words = rng.choice(turns)[1].split()
            turns.append((rng.choice(OPENINGS), " ".join(words[: max(5, len(words) // 3)])))
        else:
            user = f"{rng.choice(OPENINGS)} {' '.join(rng.choices(WORDS, k=rng.randint(3, 15)))}"
            turns.append((user, " ".join(rng.choices(WORDS, k=rng.randint(20, 70)))))
    return turns


def _examples(turns: list[tuple[str, str]], ids: list[str]) -> list[str]:
    from datetime import datetime, timezone

    from schemas.dataset import ChatExample, ChatMessage, Lineage

    stamp = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [ChatExample(example_id=e, messages=(ChatMessage(role="user", content=u), ChatMessage(role="assistant", content=a)),
                        group_hash="g", timestamp=stamp, lineage=Lineage(request_id=e[:8], source="l", line=1)).model_dump_json()
            for (u, a), e in zip(turns, ids, strict=True)]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(n):
        if i % 50 == 49 and texts:  # a light edit of an earlier text
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choices(WORDS, k=rng.randint(30, 80))))
    return texts


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, 384)).astype(np.float32)
    v[49::50] = v[:-49:50][: len(v[49::50])] + 0.05 * v[49::50]  # near copies
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write_part(pool: Path, name: str, ids: list[str], sigs: np.ndarray, vecs: np.ndarray | None, fps,
                examples: list[str] | None = None, shingles: list[np.ndarray] | None = None) -> None:
    n = len(ids)
    extra = {"shingles": pa.array(shingles, type=pa.list_(pa.uint32()))} if shingles is not None else {}
    table = pa.table({**extra, "example": examples or [None] * n,
        "outcome": ["ok"] * n, "validate_fp": [fps.validate] * n, "redact_fp": [fps.redact] * n,
        "embed_fp": [fps.embed] * n, "example_id": ids,
        "signature": pa.array(list(sigs), type=pa.list_(pa.uint32())),
        "embedding": pa.array(list(vecs) if vecs is not None else [None] * n, type=pa.list_(pa.float32())),
    })
    pq.write_table(table, pool / PARTS / f"part-{name}.parquet")


def _timed(fn):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, round(seconds, 2), round(peak / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--semantic", action="store_true")
    parser.add_argument("--containment", action="store_true", help="Containment pairs (chat-like texts, excerpts).")
    parser.add_argument("--from-text", action="store_true",
                        help="Parts without the shingles column (as before it): containment hashes the examples' text.")
    args = parser.parse_args()
    methods = ["exact", "minhash", "containment"] + (["semantic"] if args.semantic else [])
    data = DatasetParams().model_dump()
    data["dedupe"].update(methods=methods, embedding_model="all-MiniLM-L6-v2")
    params = DatasetParams.model_validate(data)
    fps = fingerprints(params)
    extra = args.rows // 100
    turns = _chat_texts(args.rows + extra, seed=5) if args.containment else None
    texts = [f"user: {u}\nassistant: {a}" for u, a in turns] if turns else _texts(args.rows + extra, seed=5)
    sigs = minhash_signatures(texts, params.dedupe.num_perm, params.dedupe.shingle_size, workers=1)
    vecs = _vectors(args.rows + extra, seed=5) if args.semantic else None
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(len(texts))]  # like example ids
    examples = _examples(turns, ids) if turns else None
    column = None
    if turns and not args.from_text:
        column = distinct_shingle_hashes(texts, params.dedupe.shingle_size)
    cut = (lambda a, b: column[a:b]) if column is not None else (lambda a, b: None)
    stored = ["minhash"] + (["containment"] if args.containment else []) + (["semantic"] if args.semantic else [])
    out: dict = {"rows": args.rows, "new_rows": extra, "load": os.getloadavg()[0],
                 "shingles": "from text" if args.from_text else "column"}
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp)
        (pool / PARTS).mkdir()
        for k in range(0, args.rows, 2000):
            end = min(k + 2000, args.rows)
            _write_part(pool, f"{k:08d}", ids[k:end], sigs[k:end], None if vecs is None else vecs[k:end], fps,
                        examples and examples[k:end], cut(k, end))
        for method in stored:
            cold, s_cold, m_cold = _timed(lambda: update_pairs(pool, params, method, ids[: args.rows]))
            out[f"{method}.cold"] = {"seconds": s_cold, "heap_peak_mb": m_cold, **vars(cold)}
        _write_part(pool, "new", ids[args.rows :], sigs[args.rows :], None if vecs is None else vecs[args.rows :], fps,
                    examples and examples[args.rows :], cut(args.rows, len(ids)))
        for method in stored:
            warm, s_warm, m_warm = _timed(lambda: update_pairs(pool, params, method, ids))
            out[f"{method}.rebuild"] = {"seconds": s_warm, "heap_peak_mb": m_warm, **vars(warm)}
        everything = list(range(len(ids)))
        pairs, s_re, m_re = _timed(lambda: similar_pairs(sigs, params.dedupe.threshold))
        out["minhash.recompute_all"] = {"seconds": s_re, "heap_peak_mb": m_re, "pairs": len(pairs)}
        if args.containment:
            p = params.dedupe
            pairs, s_re, m_re = _timed(lambda: hashed_containment_pairs(
                distinct_shingle_hashes(texts, p.shingle_size), p.containment_threshold, p.min_shingles))
            out["containment.recompute_all"] = {"seconds": s_re, "heap_peak_mb": m_re, "pairs": len(pairs)}
        if args.semantic:
            pairs, s_re, m_re = _timed(
                lambda: semantic_pairs_blockwise(lambda a, b: vecs[a:b], everything, params.dedupe.semantic_threshold))
            out["semantic.recompute_all"] = {"seconds": s_re, "heap_peak_mb": m_re, "pairs": len(pairs)}
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
