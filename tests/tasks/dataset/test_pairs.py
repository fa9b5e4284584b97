"""The pair store over a small pool of real MinHash signatures: incremental equals recomputed, forget."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.params import DatasetParams
from tasks.dataset.dedupe import minhash_signatures, similar_pairs
from tasks.dataset.pairs import compared_ids, forget_examples, settings_fingerprint, stored_finder, stored_pairs, update_pairs
from tasks.dataset.pool import PARTS, fingerprints

TEXTS = [
    "the invoice for march was charged twice to my card and I need a refund",
    "the invoice for march was charged twice to my card and I need a refund please",
    "how do I reset the password of the admin account on the dashboard",
    "what is the weather like in lisbon in the spring months of the year",
    "how do I reset the password of the admin account on the new dashboard",
    "the invoice for march was charged twice to my card and I need a refund",
]


def _ids(texts: list[str]) -> list[str]:
    return [hashlib.sha256(t.encode()).hexdigest() for t in texts]


def _part(pool: Path, name: str, texts: list[str], params: DatasetParams) -> None:
    fps = fingerprints(params)
    sigs = minhash_signatures(texts, params.dedupe.num_perm, params.dedupe.shingle_size, workers=1)
    n = len(texts)
    (pool / PARTS).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "outcome": ["ok"] * n, "validate_fp": [fps.validate] * n, "redact_fp": [fps.redact] * n,
        "embed_fp": pa.array([None] * n, pa.string()), "example_id": _ids(texts),
        "signature": pa.array(list(sigs), type=pa.list_(pa.uint32())),
        "embedding": pa.array([None] * n, type=pa.list_(pa.float32())),
    }), pool / PARTS / f"part-{name}.parquet")


def test_an_update_compares_only_new_examples_and_equals_recomputed_pairs(tmp_path: Path) -> None:
    params = DatasetParams()
    _part(tmp_path, "a", TEXTS[:3], params)
    first = update_pairs(tmp_path, params, "minhash", _ids(TEXTS[:3]))
    assert (first.compared_rows, first.reused_rows, first.new_pairs) == (3, 0, 1)
    _part(tmp_path, "b", TEXTS[3:], params)
    ids = _ids(TEXTS)
    second = update_pairs(tmp_path, params, "minhash", ids)
    assert (second.compared_rows, second.reused_rows) == (2, 3)  # TEXTS[5] is TEXTS[0]: one example
    assert update_pairs(tmp_path, params, "minhash", ids).compared_rows == 0
    sigs = minhash_signatures(TEXTS, params.dedupe.num_perm, params.dedupe.shingle_size, workers=1)
    expected = {(min(ids[i], ids[j]), max(ids[i], ids[j])) for i, j in similar_pairs(sigs, params.dedupe.threshold)
                if ids[i] != ids[j]}
    assert stored_pairs(tmp_path, "minhash", settings_fingerprint("minhash", params)) == expected
    survivors = list(range(len(TEXTS)))
    assert stored_finder(tmp_path, params, "minhash", ids)(survivors) == sorted(similar_pairs(sigs, params.dedupe.threshold))


def test_forget_removes_pairs_and_marks(tmp_path: Path) -> None:
    params = DatasetParams()
    _part(tmp_path, "a", TEXTS, params)
    update_pairs(tmp_path, params, "minhash", _ids(TEXTS))
    fp = settings_fingerprint("minhash", params)
    gone = _ids(TEXTS[:1])[0]
    assert any(gone in p for p in stored_pairs(tmp_path, "minhash", fp))
    assert forget_examples(tmp_path, {gone}) > 0
    assert not any(gone in p for p in stored_pairs(tmp_path, "minhash", fp))
    assert gone not in compared_ids(tmp_path, "minhash", fp) and len(compared_ids(tmp_path, "minhash", fp)) == 4
    assert forget_examples(tmp_path, {gone}) == 0
    assert update_pairs(tmp_path, params, "minhash", _ids(TEXTS)).compared_rows == 1  # it comes back: compared anew
