"""The pair store: the duplicate pairs each pairwise method found between pool rows, kept beside the pool.

A build compares only the pool's examples that the store has not seen under the method's settings
(``settings_fp``: method, threshold, MinHash ``num_perm`` and ``shingle_size``, ``include_system``,
``embed_fp`` for semantic) against every current example of the pool, a part at a time, and reuses the
stored pairs for the rest. Pairs are selection-independent: a dataset build takes those among its
selected examples and forms its clusters exactly as before (staged order, best-ranked member kept),
so an incremental build equals a from-scratch one.

The methods stored are those whose verdict on a pair depends on the two texts alone: ``minhash`` (LSH band
equality and estimated Jaccard of the two signatures), ``containment`` (exact: distinct shingle hashes of
the smaller set found in the other, ``similarity.contained_between``; both directions are joined, a new
set against larger pool sets and a pool set against larger new ones; the hashes come from the pool's
``shingles`` column, or from the redacted example in a part written before it) and ``semantic`` (cosine of
the two embeddings). Settings: containment's threshold, ``shingle_size``, ``min_shingles``, ``include_system``.

Layout: ``<pool>/pairs/pairs-<hash>.parquet``, each file one write, columns ``method``, ``settings_fp``,
``a``, ``b`` (example ids; ``b`` null: row ``a`` was compared, with or without pairs) and ``score`` (on a
containment compared mark: the example's distinct shingle count, ``stored_finder``'s ``min_shingles`` test). A
file is written to a temporary name, fsynced and renamed (the pool's ``_write_part``), so a SIGKILL
leaves the old files plus whole new ones; a row's "compared" mark and its pairs are in the same file.
Keys are ``example_id`` (a content hash of the messages: the same example, the same dedupe text).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.dataset import ChatExample
from schemas.params import DatasetParams
from tasks.common.arrays import sorted_unique
from tasks.dataset.dedupe import dedupe_text
from tasks.dataset.pool import PARTS, _digest, _parts, fingerprints, write_parquet_atomically
from tasks.dataset.similarity import ShingleSets, contained_between, distinct_shingle_hashes, shingle_frequency

PAIRS = "pairs"
STORED_METHODS = ("minhash", "containment", "semantic")
PAIR_SCHEMA = pa.schema(
    [
        ("method", pa.string()),
        ("settings_fp", pa.string()),
        ("a", pa.string()),
        ("b", pa.string()),
        ("score", pa.float32()),
    ]
)


def settings_fingerprint(method: str, params: DatasetParams) -> str:
    """What a method's pairs depend on (its threshold, the signature or embedding settings)."""
    p = params.dedupe
    if method == "minhash":
        settings = {"threshold": p.threshold, "num_perm": p.num_perm, "shingle_size": p.shingle_size,
                    "include_system": p.include_system}
    elif method == "containment":
        settings = {"threshold": p.containment_threshold, "shingle_size": p.shingle_size,
                    "min_shingles": p.min_shingles, "include_system": p.include_system}
    elif method == "semantic":
        settings = {"threshold": p.semantic_threshold, "embed_fp": fingerprints(params).embed}
    else:
        raise ValueError(f"method {method!r} keeps no pairs")
    return _digest({"method": method, **settings})


def _pair_files(root: Path) -> list[Path]:
    return sorted((root / PAIRS).glob("pairs-*.parquet"))


def _write(root: Path, table: pa.Table) -> Path:
    """One pair file, whole or absent after a crash (named by a digest of all its columns)."""
    return write_parquet_atomically(root / PAIRS, "pairs", table, PAIR_SCHEMA.names, "pairs-before-rename")


def _remove_temporaries(root: Path) -> None:
    for leftover in (root / PAIRS).glob(".pairs-*.tmp"):
        leftover.unlink(missing_ok=True)


def _read(root: Path, method: str, fp: str) -> Iterator[pa.Table]:
    for path in _pair_files(root):
        table = pq.read_table(path)
        mask = pc.and_(pc.equal(table["method"], method), pc.equal(table["settings_fp"], fp))
        yield table.filter(mask)


def compared_ids(root: Path, method: str, fp: str) -> set[str]:
    """Example ids already compared under ``(method, fp)``."""
    seen: set[str] = set()
    for table in _read(root, method, fp):
        seen.update(table.filter(pc.is_null(table["b"]))["a"].to_pylist())
    return seen


def _keys(ids: Sequence[str]) -> np.ndarray:
    """The first 64 bits of each (hex sha256) example id, as uint64."""
    return np.fromiter((int(e[:16], 16) for e in ids), dtype=np.uint64, count=len(ids))


def compared_keys(root: Path, method: str, fp: str) -> np.ndarray:
    """``compared_ids`` packed: the sorted 64-bit prefixes of the ids (8 bytes an example, in numpy)."""
    parts = [_keys(t.filter(pc.is_null(t["b"]))["a"].to_pylist()) for t in _read(root, method, fp)]
    return sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def stored_pairs(root: Path, method: str, fp: str) -> set[tuple[str, str]]:
    """Every stored pair ``(a, b)``, ``a < b``, under ``(method, fp)``."""
    pairs: set[tuple[str, str]] = set()
    for table in _read(root, method, fp):
        table = table.filter(pc.is_valid(table["b"]))
        pairs.update(zip(table["a"].to_pylist(), table["b"].to_pylist(), strict=True))
    return pairs


@dataclass
class PoolVectors:
    """A part's current redacted examples: their ids and their signatures, embeddings or shingle sets (one each)."""

    ids: list[str]
    vectors: np.ndarray | ShingleSets


def _take(vectors: np.ndarray | ShingleSets, rows: Sequence[int]) -> np.ndarray | ShingleSets:
    return vectors.take(rows) if isinstance(vectors, ShingleSets) else vectors[list(rows)]


def _concat(parts: Sequence[np.ndarray | ShingleSets]) -> np.ndarray | ShingleSets:
    return ShingleSets.concat(parts) if parts and isinstance(parts[0], ShingleSets) else np.concatenate(parts)


def _shingle_sets(table: pa.Table, rows: Sequence[int], params: DatasetParams) -> ShingleSets:
    """The rows' distinct shingle hashes: the ``shingles`` column, or (a part or row from before it) their ``dedupe_text``'s."""
    p = params.dedupe
    if "shingles" in table.column_names:
        column = table["shingles"].take(rows).combine_chunks()
        if not column.null_count:  # numpy views of the column: no Python number a hash
            offsets = column.offsets.to_numpy().astype(np.int64)
            return ShingleSets(column.values.to_numpy()[offsets[0] : offsets[-1]], offsets - offsets[0])
    stored = table["shingles"].take(rows).to_pylist() if "shingles" in table.column_names else [None] * len(rows)
    missing = [k for k, s in enumerate(stored) if s is None]
    if missing:
        examples = table["example"].take([rows[k] for k in missing]).to_pylist()
        texts = [dedupe_text(ChatExample.model_validate_json(e), p.include_system) for e in examples]
        for k, hashes in zip(missing, distinct_shingle_hashes(texts, p.shingle_size), strict=True):
            stored[k] = hashes
    return ShingleSets.of([np.asarray(s, dtype=np.uint32) for s in stored])


def _has_nulls(path: Path) -> bool:
    """Whether some ``ok`` row of the part lacks ``shingles`` (a row copied from a part before the column)."""
    table = pq.read_table(path, columns=["outcome", "shingles"])
    return bool(pc.sum(pc.and_(pc.equal(table["outcome"], "ok"), pc.is_null(table["shingles"]))).as_py())


def _holds_any(path: Path, among: np.ndarray) -> bool:
    """Whether the part has an example whose 64-bit id key is in ``among`` (its ids read, nothing else)."""
    ids = [e for e in pq.read_table(path, columns=["example_id"])["example_id"].to_pylist() if e]
    return bool(_isin(_keys(ids), among).any())


def pool_vectors(
    pool_root: Path, params: DatasetParams, method: str, among: np.ndarray | None = None
) -> Iterator[PoolVectors]:
    """The pool's current ``ok`` rows, a part at a time, distinct by example id within the part.

    Containment's shingle sets are the ``shingles`` column; a part written before it (or a row without
    it) has them computed from its redacted example. ``among`` (sorted 64-bit id keys, ``_keys``): only
    the parts holding one of them are read (a rebuild's few new examples sit in its new parts).
    """
    fps = fingerprints(params)
    base = ["outcome", "validate_fp", "redact_fp", "embed_fp", "example_id"]
    for path in _parts(pool_root):
        if among is not None and not _holds_any(path, among):
            continue
        if method == "containment":
            names = pq.read_schema(path).names
            columns = base + (["shingles"] if "shingles" in names else [])
            columns += ["example"] if "shingles" not in names or _has_nulls(path) else []
        else:
            columns = base + ["signature" if method == "minhash" else "embedding"]
        table = pq.read_table(path, columns=columns)
        mask = pc.and_(pc.equal(table["outcome"], "ok"), pc.equal(table["validate_fp"], fps.validate))
        mask = pc.and_(mask, pc.equal(table["redact_fp"], fps.redact))
        if method == "semantic":
            mask = pc.and_(mask, pc.equal(table["embed_fp"], fps.embed or ""))
        table = table.filter(pc.fill_null(mask, False))
        if not table.num_rows:
            continue
        ids = table["example_id"].to_pylist()
        first = {e: i for i, e in reversed(list(enumerate(ids)))}
        rows = sorted(first.values())
        if method == "containment":
            yield PoolVectors([ids[i] for i in rows], _shingle_sets(table, rows, params))
            continue
        flat = table[columns[-1]].combine_chunks()
        values = flat.values.to_numpy().reshape(len(ids), -1)
        yield PoolVectors([ids[i] for i in rows], values[rows])


PairScorer = Callable[[Any, Any], list[tuple[int, int, float]]]
"""Given new rows' vectors and other rows' vectors (``None``: the new rows among themselves), the
``(new, other, score)`` pairs a method calls duplicates (among themselves: ``(i, j)``, ``i < j``)."""


def minhash_scorer(threshold: float) -> PairScorer:
    """MinHash: a band of the two signatures equal (``MinHashLSH``'s bands) and estimated Jaccard >= threshold."""
    from tasks.dataset.dedupe import similar_pairs, similar_pairs_between

    def score(new: np.ndarray, other: np.ndarray | None) -> list[tuple[int, int, float]]:
        if other is not None:
            return similar_pairs_between(new, other, threshold)
        return [(i, j, float((new[i] == new[j]).mean())) for i, j in similar_pairs(new, threshold)]

    return score


def semantic_scorer(threshold: float) -> PairScorer:
    """Semantic: cosine of the normalised embeddings >= threshold."""

    def score(new: np.ndarray, other: np.ndarray | None) -> list[tuple[int, int, float]]:
        found = []
        for start in range(0, len(new), 2048):
            sims = new[start : start + 2048] @ (new if other is None else other).T
            r, c = np.nonzero(sims >= threshold)
            if other is None:
                keep = start + r < c
                r, c = r[keep], c[keep]
            found += [(start + a, b, float(sims[a, b])) for a, b in zip(r.tolist(), c.tolist(), strict=True)]
        return found

    return score


def containment_scorer(threshold: float, min_shingles: int) -> PairScorer:
    """Containment: ``|A & B| / min(|A|, |B|) >= threshold`` over distinct shingle hashes, both sets >= ``min_shingles``.

    Both directions, each exact (``contained_between``): a new set no larger than a pool row's, and
    a pool row's set no larger than a new one's (among the new rows: the collection with itself).
    """

    def score(new: ShingleSets, other: ShingleSets | None) -> list[tuple[int, int, float]]:
        if other is None:
            i, j, s = contained_between(new, new, threshold, min_shingles, same=True)
            found = dict(zip(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), strict=True), s.tolist(), strict=True))
            return [(a, b, score) for (a, b), score in sorted(found.items())]
        sizes, other = other.sizes, other.within(sorted_unique(new.hashes))  # only hashes the new sets have can be shared
        frequency = shingle_frequency(new, other)
        i, j, s = contained_between(new, other, threshold, min_shingles, frequency=frequency, right_sizes=sizes)
        j2, i2, s2 = contained_between(other, new, threshold, min_shingles, frequency=frequency, left_sizes=sizes)
        found = dict(zip(zip(i.tolist(), j.tolist(), strict=True), s.tolist(), strict=True))
        found.update(zip(zip(i2.tolist(), j2.tolist(), strict=True), s2.tolist(), strict=True))
        return [(a, b, score) for (a, b), score in sorted(found.items())]

    return score


def _scorer(method: str, params: DatasetParams) -> PairScorer:
    p = params.dedupe
    if method == "minhash":
        return minhash_scorer(p.threshold)
    if method == "containment":
        return containment_scorer(p.containment_threshold, p.min_shingles)
    return semantic_scorer(p.semantic_threshold)


@dataclass
class PairUpdate:
    """What one method's update did."""

    compared_rows: int
    """Examples new to the store under the settings, compared with every current pool example."""
    reused_rows: int
    """Examples whose pairs were already stored."""
    new_pairs: int


NEW_CHUNK = 50_000
"""New examples compared (their marks and pairs one file) at a time: the update's memory, whatever the pool's size."""
OLD_BLOCK = 50_000
"""Examples compared before that are joined with a chunk at a time (read a part at a time, until this many)."""


def _isin(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which of ``keys`` are in ``sorted_keys`` (ascending)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _gather(pool_root: Path, params: DatasetParams, method: str, pending: np.ndarray, size: int) -> PoolVectors:
    """The first ``size`` pending examples (by 64-bit key) in pool order, once each, with their vectors."""
    ids: list[str] = []
    parts: list[np.ndarray | ShingleSets] = []
    taken = np.zeros(0, dtype=np.uint64)
    for part in pool_vectors(pool_root, params, method, among=pending):
        keys = _keys(part.ids)
        take = np.flatnonzero(_isin(keys, pending) & ~_isin(keys, taken))[: size - len(ids)]
        if len(take):
            ids += [part.ids[k] for k in take.tolist()]
            parts.append(_take(part.vectors, take.tolist()))
            taken = np.sort(np.concatenate((taken, keys[take])))
        if len(ids) >= size:
            break
    return PoolVectors(ids, _concat(parts) if parts else np.zeros(0))


def _old_blocks(
    pool_root: Path, params: DatasetParams, method: str, pending: np.ndarray, size: int
) -> Iterator[PoolVectors]:
    """The pool's current examples not pending (compared before), about ``size`` at a time, each once a block."""
    ids: list[str] = []
    parts: list[np.ndarray | ShingleSets] = []
    held = np.zeros(0, dtype=np.uint64)
    for part in pool_vectors(pool_root, params, method):
        keys = _keys(part.ids)
        old = np.flatnonzero(~_isin(keys, pending) & ~_isin(keys, held))
        if len(old):
            ids += [part.ids[k] for k in old.tolist()]
            parts.append(_take(part.vectors, old.tolist()))
            held = np.sort(np.concatenate((held, keys[old])))
        if len(ids) >= size:
            yield PoolVectors(ids, _concat(parts))
            ids, parts, held = [], [], np.zeros(0, dtype=np.uint64)
    if ids:
        yield PoolVectors(ids, _concat(parts))


JOIN_THREADS = 2
"""Old blocks joined with a chunk at once (numpy releases the GIL in the join's sorts and look-ups): on a
rebuild the join runs after the new lines' processes are done, so a second core would idle."""


def _scored_blocks(
    blocks: Iterator[PoolVectors], chunk: PoolVectors, scorer: PairScorer, method: str
) -> Iterator[tuple[list[str], list[tuple[int, int, float]]]]:
    """Each block's ids and the chunk's pairs with it, in block order; up to ``JOIN_THREADS`` blocks joined at once.

    The next block is read (parquet, GIL released) while the earlier ones are joined. Semantic blocks go
    one at a time: their matrix product already uses every core.
    """
    threads = 1 if method == "semantic" else max(1, min(JOIN_THREADS, os.cpu_count() or 1))
    if threads == 1:
        for block in blocks:
            yield block.ids, scorer(chunk.vectors, block.vectors)
        return
    running: deque[tuple[list[str], Future]] = deque()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pair-join") as pool:
        for block in blocks:
            running.append((block.ids, pool.submit(scorer, chunk.vectors, block.vectors)))
            if len(running) >= threads:  # at most ``threads`` blocks held (and one being read)
                ids, future = running.popleft()
                yield ids, future.result()
        while running:
            ids, future = running.popleft()
            yield ids, future.result()


def update_pairs(pool_root: Path, params: DatasetParams, method: str, wanted: Sequence[str]) -> PairUpdate:
    """Compare the ``wanted`` examples the store lacks under ``method`` with the pool's current examples; store the pairs.

    The new examples go ``NEW_CHUNK`` at a time: a chunk is joined with itself, then with the pool's
    examples that are not pending (compared before, or in an earlier chunk), ``OLD_BLOCK`` at a time, so
    each pair is found once and a first build costs about its examples squared over ``OLD_BLOCK`` joins, not
    one join per part and example. Each chunk's compared marks and pairs are one file: a crash keeps the
    chunks written, and the next update compares the rest with them.
    Memory: a chunk's vectors and a block's, and the compared ids' 64-bit prefixes (8 bytes an example of the
    pool, numpy; two ids sharing a prefix, about 1 in 10^7 at a million examples, would leave the second
    uncompared).
    Call with the pool's lock held, after the build's rows were appended.
    """
    _remove_temporaries(pool_root)
    fp = settings_fingerprint(method, params)
    distinct = list(dict.fromkeys(wanted))
    keys = _keys(distinct)
    pending = sorted_unique(keys[~_isin(keys, compared_keys(pool_root, method, fp))])
    scorer = _scorer(method, params)
    compared = pairs = 0
    while len(pending):
        chunk = _gather(pool_root, params, method, pending, NEW_CHUNK)
        if not chunk.ids:  # an example the pool lacks would silently lose its pairs
            raise ValueError(f"{len(pending)} examples to compare are not current rows of the pool {pool_root}")
        found: dict[tuple[str, str], float] = {}
        for i, j, score in scorer(chunk.vectors, None):  # the chunk among itself
            a, b = chunk.ids[i], chunk.ids[j]
            found[(min(a, b), max(a, b))] = score
        for ids, scored in _scored_blocks(_old_blocks(pool_root, params, method, pending, OLD_BLOCK), chunk, scorer, method):
            for i, j, score in scored:
                a, b = chunk.ids[i], ids[j]
                if a != b:
                    found[(min(a, b), max(a, b))] = score
        _write_compared(pool_root, method, fp, chunk, found)
        pending = pending[~_isin(pending, np.sort(_keys(chunk.ids)))]
        compared, pairs = compared + len(chunk.ids), pairs + len(found)
    return PairUpdate(compared, len(distinct) - compared, pairs)


def _write_compared(
    pool_root: Path, method: str, fp: str, chunk: PoolVectors, found: dict[tuple[str, str], float]
) -> None:
    """One file: the chunk's compared marks (containment: each with its distinct shingle count) and its pairs."""
    marks: list[float | None] = [None] * len(chunk.ids)
    if method == "containment":  # a mark's score: the example's distinct shingles (``stored_finder``)
        marks = chunk.vectors.sizes.astype(float).tolist()
    pairs = sorted(found.items())
    marked = sorted(zip(chunk.ids, marks, strict=True))
    table = pa.table(
        {
            "method": [method] * (len(marked) + len(pairs)),
            "settings_fp": [fp] * (len(marked) + len(pairs)),
            "a": [a for a, _ in marked] + [a for (a, _), _ in pairs],
            "b": [None] * len(marked) + [b for (_, b), _ in pairs],
            "score": [m for _, m in marked] + [s for _, s in pairs],
        },
        schema=PAIR_SCHEMA,
    )
    _write(pool_root, table)


def stored_finder(
    pool_root: Path, params: DatasetParams, method: str, example_ids: Sequence[str]
) -> Callable[[list[int]], list[tuple[int, int]]]:
    """A ``PairFinder`` over the store's examples from the stored pairs: position pairs among the survivors.

    Two occurrences of one example are a pair (identical signatures or embeddings; for containment,
    identical shingle sets, when they have ``min_shingles``: the count its compared mark holds).
    Only the pairs and marks of ``example_ids`` are read into memory (each file filtered as it is read),
    never the whole store's.
    """
    fp = settings_fingerprint(method, params)
    wanted = pa.array(sorted(set(example_ids)), pa.string())
    pairs = _pairs_among(pool_root, method, fp, wanted)
    taking = _taking(pool_root, fp, params.dedupe.min_shingles, wanted) if method == "containment" else None

    def find(survivors: list[int]) -> list[tuple[int, int]]:
        at: dict[str, list[int]] = {}
        for pos, i in enumerate(survivors):
            at.setdefault(example_ids[i], []).append(pos)
        found: set[tuple[int, int]] = set()
        for example, positions in at.items():
            if taking is None or example in taking:
                found.update((positions[0], q) for q in positions[1:])
        for a, b in pairs:
            if a in at and b in at:
                found.update((min(x, y), max(x, y)) for x in at[a] for y in at[b])
        return sorted(found)

    return find


def _pairs_among(root: Path, method: str, fp: str, wanted: pa.Array) -> set[tuple[str, str]]:
    """The stored pairs ``(a, b)`` under ``(method, fp)`` with both examples in ``wanted``."""
    pairs: set[tuple[str, str]] = set()
    for table in _read(root, method, fp):
        table = table.filter(pc.is_valid(table["b"]))
        both = pc.and_(pc.is_in(table["a"], value_set=wanted), pc.is_in(table["b"], value_set=wanted))
        table = table.filter(both)
        pairs.update(zip(table["a"].to_pylist(), table["b"].to_pylist(), strict=True))
    return pairs


def _taking(root: Path, fp: str, min_shingles: int, wanted: pa.Array) -> set[str]:
    """Examples of ``wanted`` compared for containment with ``min_shingles`` distinct shingles or more (they take part)."""
    taking: set[str] = set()
    for table in _read(root, "containment", fp):
        marks = table.filter(pc.and_(pc.is_null(table["b"]), pc.fill_null(pc.greater_equal(table["score"], min_shingles), False)))
        taking.update(marks.filter(pc.is_in(marks["a"], value_set=wanted))["a"].to_pylist())
    return taking


def forget_examples(pool_root: Path, example_ids: set[str]) -> int:
    """Remove every pair and compared mark naming one of ``example_ids``; returns the records removed.

    Each file holding one is rewritten without them (a new file) and only then deleted (call with
    the pool's lock held). A forgotten example that comes back is compared anew.
    """
    removed = 0
    if not example_ids:
        return 0
    wanted = pa.array(sorted(example_ids), pa.string())
    for path in _pair_files(pool_root):
        table = pq.read_table(path)
        hit = pc.or_(pc.is_in(table["a"], value_set=wanted), pc.fill_null(pc.is_in(table["b"], value_set=wanted), False))
        count = pc.sum(hit).as_py() or 0
        if not count:
            continue
        kept = table.filter(pc.invert(hit))
        if kept.num_rows and _write(pool_root, kept) == path:
            continue
        path.unlink()
        removed += count
    return removed


__all__ = ["PARTS", "STORED_METHODS", "PairUpdate", "forget_examples", "settings_fingerprint", "stored_finder",
           "update_pairs"]
