"""The pair store over a small pool of real MinHash signatures and redacted examples: incremental equals recomputed,
forget; containment in both directions (a new excerpt of an old text, a new text around an old one)."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.params import DatasetParams
from tasks.dataset.dedupe import dedupe_text, minhash_signatures, similar_pairs
from tasks.dataset.similarity import containment_pairs, distinct_shingle_hashes
from tasks.dataset import pairs as pairs_lib
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


def _example(text: str, example_id: str) -> ChatExample:
    return ChatExample(example_id=example_id, messages=(ChatMessage(role="user", content=text),), group_hash="g",
                       timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc), lineage=Lineage(request_id="r", source="l", line=1))


def _part(pool: Path, name: str, texts: list[str], params: DatasetParams, shingles: str = "none") -> None:
    """A pool part of redacted rows: MinHash signatures and examples of ``dedupe_text`` = ``user: <text>``.

    ``shingles``: the ``shingles`` column left out (``none``: a part from before it), on every row (``all``) or
    on every other row (``some``: rows copied from an old part).
    """
    fps = fingerprints(params)
    ids = _ids(texts)
    dedupe = [dedupe_text(_example(t, e), False) for t, e in zip(texts, ids, strict=True)]
    sigs = minhash_signatures(dedupe, params.dedupe.num_perm, params.dedupe.shingle_size, workers=1)
    n = len(texts)
    (pool / PARTS).mkdir(parents=True, exist_ok=True)
    extra = {}
    if shingles != "none":
        sets = distinct_shingle_hashes(dedupe, params.dedupe.shingle_size)
        extra["shingles"] = pa.array([s if shingles == "all" or k % 2 else None for k, s in enumerate(sets)],
                                     type=pa.list_(pa.uint32()))
    pq.write_table(pa.table({**extra,
        "outcome": ["ok"] * n, "validate_fp": [fps.validate] * n, "redact_fp": [fps.redact] * n,
        "embed_fp": pa.array([None] * n, pa.string()), "example_id": ids,
        "example": [_example(t, e).model_dump_json() for t, e in zip(texts, ids, strict=True)],
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


@pytest.mark.parametrize("method", ["minhash", "containment"])
def test_forget_removes_pairs_and_marks(tmp_path: Path, method: str) -> None:
    params = DatasetParams()
    _part(tmp_path, "a", TEXTS, params)
    update_pairs(tmp_path, params, method, _ids(TEXTS))
    fp = settings_fingerprint(method, params)
    gone = _ids(TEXTS[:1])[0]
    assert any(gone in p for p in stored_pairs(tmp_path, method, fp))
    assert forget_examples(tmp_path, {gone}) > 0
    assert not any(gone in p for p in stored_pairs(tmp_path, method, fp))
    assert gone not in compared_ids(tmp_path, method, fp) and len(compared_ids(tmp_path, method, fp)) == 4
    assert forget_examples(tmp_path, {gone}) == 0
    assert update_pairs(tmp_path, params, method, _ids(TEXTS)).compared_rows == 1  # it comes back: compared anew


def _containment_expected(texts: list[str], params: DatasetParams) -> set[tuple[str, str]]:
    """The in-memory rule over every text at once (``containment_pairs``), as example-id pairs."""
    ids = _ids(texts)
    dedupe = [dedupe_text(_example(t, e), False) for t, e in zip(texts, ids, strict=True)]
    p = params.dedupe
    return {(min(ids[i], ids[j]), max(ids[i], ids[j]))
            for i, j in containment_pairs(dedupe, p.containment_threshold, p.shingle_size, p.min_shingles) if ids[i] != ids[j]}


def _corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)] + ["the"] * 40  # one very common word: common shingles
    return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 70))) for _ in range(n)]


def test_containment_pairs_are_found_in_both_directions_and_equal_the_in_memory_rule(tmp_path: Path) -> None:
    """A new excerpt of an old long text, and a new long text around an old short one, are found against the old row."""
    params = DatasetParams()
    old = _corpus(60, seed=3)
    old.append("a short refund request about the march invoice")
    _part(tmp_path, "a", old, params)
    first = update_pairs(tmp_path, params, "containment", _ids(old))
    assert (first.compared_rows, first.reused_rows) == (len(old), 0)
    excerpt = " ".join(old[0].split()[5:25])  # new, shorter: contained in the old long text
    around = f"hello there {old[-1]} and please answer soon"  # new, longer: contains the old short text
    new = [excerpt, around, *_corpus(20, seed=4)]
    _part(tmp_path, "b", new, params, shingles="all")  # a part with the column, after one without
    every = old + new
    second = update_pairs(tmp_path, params, "containment", _ids(every))
    assert (second.compared_rows, second.reused_rows) == (len(new), len(old))
    fp = settings_fingerprint("containment", params)
    stored = stored_pairs(tmp_path, "containment", fp)
    ids = dict(zip(every, _ids(every), strict=True))
    assert tuple(sorted((ids[old[0]], ids[excerpt]))) in stored
    assert tuple(sorted((ids[old[-1]], ids[around]))) in stored
    assert stored == _containment_expected(every, params)  # incremental == the whole collection at once
    scratch = tmp_path / "scratch"
    _part(scratch, "all", every, params, shingles="some")
    update_pairs(scratch, params, "containment", _ids(every))
    assert stored_pairs(scratch, "containment", fp) == stored
    assert update_pairs(tmp_path, params, "containment", _ids(every)).compared_rows == 0  # unchanged: nothing compared
    survivors = list(range(len(every)))
    dedupe = [dedupe_text(_example(t, e), False) for t, e in zip(every, _ids(every), strict=True)]
    assert stored_finder(tmp_path, params, "containment", _ids(every))(survivors) == containment_pairs(dedupe, 0.8)


def test_a_containment_threshold_change_recompares_containment_only(tmp_path: Path) -> None:
    params = DatasetParams()
    _part(tmp_path, "a", TEXTS, params)
    for method in ("minhash", "containment"):
        update_pairs(tmp_path, params, method, _ids(TEXTS))
    looser = params.model_copy(update={"dedupe": params.dedupe.model_copy(update={"containment_threshold": 0.5})})
    assert update_pairs(tmp_path, looser, "minhash", _ids(TEXTS)).compared_rows == 0
    assert update_pairs(tmp_path, looser, "containment", _ids(TEXTS)).compared_rows == len(set(TEXTS))
    assert stored_pairs(tmp_path, "containment", settings_fingerprint("containment", looser)) == (
        _containment_expected(TEXTS, looser))


def test_two_occurrences_of_a_short_example_are_no_containment_pair(tmp_path: Path) -> None:
    """Under ``min_shingles`` an example takes no part, even against itself (as in memory); above it, it does."""
    params = DatasetParams()
    texts = ["hi", TEXTS[0]]
    _part(tmp_path, "a", texts, params)
    update_pairs(tmp_path, params, "containment", _ids(texts))
    ids = _ids(texts)
    find = stored_finder(tmp_path, params, "containment", [ids[0], ids[0], ids[1], ids[1]])
    assert find([0, 1, 2, 3]) == [(2, 3)]



@pytest.mark.parametrize(("method", "chunk", "block"), [("minhash", 50_000, 50_000), ("containment", 50_000, 50_000),
                                                     ("minhash", 7, 9), ("containment", 7, 9)])
def test_a_first_update_over_several_parts_finds_the_pairs_across_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, chunk: int, block: int
) -> None:
    """Every part new at once (a first build): pairs between parts are found, in one chunk or many chunks and blocks."""
    monkeypatch.setattr(pairs_lib, "NEW_CHUNK", chunk)
    monkeypatch.setattr(pairs_lib, "OLD_BLOCK", block)
    params = DatasetParams()
    texts = _corpus(40, seed=5)
    texts += [" ".join(texts[0].split()[2:]), texts[1] + " thanks", " ".join(texts[2].split()[:-1])]
    for k in range(0, len(texts), 10):  # the copies sit in a later part than their originals
        _part(tmp_path, f"{k:03d}", texts[k : k + 10], params, shingles="all")
    ids = _ids(texts)
    update = update_pairs(tmp_path, params, method, ids)
    assert update.compared_rows == len(set(texts))
    fp = settings_fingerprint(method, params)
    if method == "containment":
        expected = _containment_expected(texts, params)
    else:
        dedupe = [dedupe_text(_example(t, e), False) for t, e in zip(texts, ids, strict=True)]
        sigs = minhash_signatures(dedupe, params.dedupe.num_perm, params.dedupe.shingle_size, workers=1)
        expected = {(min(ids[i], ids[j]), max(ids[i], ids[j])) for i, j in similar_pairs(sigs, params.dedupe.threshold)}
    assert expected and any(ids.index(a) // 10 != ids.index(b) // 10 for a, b in expected)
    assert stored_pairs(tmp_path, method, fp) == expected


def test_an_update_stopped_between_chunks_resumes_to_the_pairs_of_a_clean_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk's marks and pairs are one file: a stop after the first leaves it, the next update compares the rest."""
    monkeypatch.setattr(pairs_lib, "NEW_CHUNK", 12)
    params = DatasetParams()
    texts = _corpus(30, seed=6)
    texts += [" ".join(t.split()[1:]) for t in texts[:6]]
    ids = _ids(texts)
    for root in (tmp_path / "stopped", tmp_path / "clean"):
        for k in range(0, len(texts), 10):
            _part(root, f"{k:03d}", texts[k : k + 10], params, shingles="all")
    write, calls = pairs_lib._write_compared, []

    def stop_after_one(*args: object) -> None:
        if calls:
            raise KeyboardInterrupt("stopped")
        calls.append(1)
        write(*args)

    monkeypatch.setattr(pairs_lib, "_write_compared", stop_after_one)
    with pytest.raises(KeyboardInterrupt):
        update_pairs(tmp_path / "stopped", params, "containment", ids)
    monkeypatch.setattr(pairs_lib, "_write_compared", write)
    fp = settings_fingerprint("containment", params)
    assert len(compared_ids(tmp_path / "stopped", "containment", fp)) == 12
    resumed = update_pairs(tmp_path / "stopped", params, "containment", ids)
    assert (resumed.compared_rows, resumed.reused_rows) == (len(set(texts)) - 12, 12)
    update_pairs(tmp_path / "clean", params, "containment", ids)
    expected = _containment_expected(texts, params)
    assert len(expected) >= 6
    stopped, clean = (stored_pairs(tmp_path / r, "containment", fp) for r in ("stopped", "clean"))
    assert stopped == clean == expected
