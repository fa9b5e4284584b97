"""Exact then near-duplicate removal (datasketch MinHash LSH), with a keep policy and clusters.

Exact duplicates share the sha256 of their normalised text (NFKC, case-folded, whitespace
collapsed). Near duplicates are found among what is left: word shingles, MinHash signatures
(datasketch's affine32 MinHash, the values of ``MinHash.bulk`` with a CRC32 shingle hash, computed
in numpy, in worker processes for large inputs), ``MinHashLSH``'s candidates (its band choice; the
bands grouped by sorting in numpy rather than one dict insert and query per text), each candidate
pair verified on its estimated Jaccard similarity, and connected components of the verified pairs
as clusters. In each cluster the best-ranked member is
kept (the caller's rank: for examples, highest quality score, then newest).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.lsh import _optimal_param
from datasketch.minhash import _fmix

from tasks.common.arrays import sorted_unique

if TYPE_CHECKING:
    from schemas.dataset import ChatExample

_PUNCT = re.compile(r"[^\w\s<>]+")
SEED = 1
SCHEME = "affine32"
PARALLEL_MIN_DOCS = 20_000
_VECTOR_BATCH = 64  # texts per numpy pass: small enough for the temporaries to stay in cache


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the text exact duplicates share."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def exact_key(text: str) -> str:
    """sha256 of the normalised text."""
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def dedupe_text(example: ChatExample, include_system: bool) -> str:
    """The text compared for duplicates: role-tagged messages (system prompts left out by default)."""
    parts = []
    for message in example.messages:
        if message.role == "system" and not include_system:
            continue
        payload = message.content or ""
        if message.tool_calls:
            payload += " " + json.dumps(message.tool_calls, sort_keys=True)
        parts.append(f"{message.role}: {payload}")
    return "\n".join(parts)


def shingles(text: str, size: int) -> list[bytes]:
    """Distinct word ``size``-grams of the normalised text without punctuation (the text itself when shorter)."""
    words = _PUNCT.sub(" ", normalise(text)).split()
    if len(words) <= size:
        return [" ".join(words).encode()]
    return list({" ".join(gram).encode() for gram in zip(*(words[i:] for i in range(size)), strict=False)})


@functools.cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters for ``num_perm`` and our seed."""
    a, b = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


_FOLD = np.uint32(0x01000193)  # FNV prime: folds word hashes into a shingle hash
# ASCII text: NFKC is the identity and case folding is lowering, so one bytes.translate does what
# ``normalise`` and ``_PUNCT`` do (letters lowered; digits, "_", "<", ">" kept; all else a space).
_ASCII_WORD = bytes(
    c if chr(c).isalnum() or chr(c) in "_<>" else ord(" ") for c in bytes(range(128)).lower()
) + b" " * 128


def _words(text: str) -> list[bytes]:
    """The words of ``shingles``, UTF-8 encoded (a fast path for ASCII text, the same words)."""
    if text.isascii():
        return text.encode().translate(_ASCII_WORD).split()
    return [w.encode() for w in _PUNCT.sub(" ", normalise(text)).split()]


def shingle_hashes(texts: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """uint32 hashes of the word ``size``-grams of each text (same words as ``shingles``), and counts.

    Each word is hashed once (CRC32) and the hashes of ``size`` neighbours are folded together in
    numpy. Repeated shingles are kept: a MinHash is the same over a multiset and its set.

    Returns:
        ``(hashes, counts)``: the hashes of all texts, concatenated, and how many belong to each.
    """
    words = [_words(t) for t in texts]
    n = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = np.fromiter(map(zlib.crc32, itertools.chain.from_iterable(words)), dtype=np.uint32, count=int(n.sum()))
    starts = np.concatenate(([0], np.cumsum(n)[:-1])).astype(np.int64)
    counts = np.maximum(n - size + 1, 1)
    out = np.empty(int(counts.sum()), dtype=np.uint32)
    out_starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    long = n >= size
    m = counts[long]
    if m.size:
        pos = np.arange(int(m.sum()), dtype=np.int64) + np.repeat(
            starts[long] - np.cumsum(np.concatenate(([0], m[:-1]))), m
        )
        folded = flat[pos]
        for step in range(1, size):
            folded = (folded * _FOLD) ^ flat[pos + step]
        out[np.repeat(out_starts[long] - np.cumsum(np.concatenate(([0], m[:-1]))), m) + np.arange(int(m.sum()))] = (
            folded
        )
    for j in np.flatnonzero(~long):  # fewer words than a shingle: one shingle of all of them
        value = 0
        for k, word_hash in enumerate(flat[starts[j] : starts[j] + n[j]].tolist()):
            value = word_hash if k == 0 else ((value * int(_FOLD)) & 0xFFFFFFFF) ^ word_hash
        out[out_starts[j]] = value
    return out, counts


def _signature_chunk(args: tuple[Sequence[str], int, int]) -> np.ndarray:
    """Signatures of a chunk of texts: datasketch's affine32 MinHash over ``shingle_hashes``.

    The arithmetic is ``MinHash.update_batch``'s (murmur finaliser, ``a * h + b`` mod 2**32,
    column minimum), done for a batch of texts in one numpy pass instead of one object a text;
    a test checks the values equal ``MinHash.bulk``'s on the same shingle hashes.
    """
    texts, num_perm, size = args
    a, b = _permutations(num_perm)
    out = np.empty((len(texts), num_perm), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for start in range(0, len(texts), _VECTOR_BATCH):
            hashes, counts = shingle_hashes(texts[start : start + _VECTOR_BATCH], size)
            permuted = np.multiply(a[:, None], _fmix(hashes, 32)[None, :])  # (num_perm, shingles): rows reduce fast
            np.add(permuted, b[:, None], out=permuted)
            offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
            out[start : start + len(counts)] = np.minimum.reduceat(permuted, offsets, axis=1).T
    return out


def minhash_signatures(
    texts: Sequence[str], num_perm: int, shingle_size: int, workers: int | None = None
) -> np.ndarray:
    """MinHash signatures, one row per text (``uint32``, ``num_perm`` columns).

    Args:
        texts: The texts.
        num_perm: Permutations per signature.
        shingle_size: Words per shingle.
        workers: Processes; ``None`` uses every core for 20,000 texts or more, else one.

    Returns:
        A ``(len(texts), num_perm)`` array.
    """
    if workers is None:
        workers = (os.cpu_count() or 1) if len(texts) >= PARALLEL_MIN_DOCS else 1
    if workers <= 1 or len(texts) < 2 * workers:
        return _signature_chunk((texts, num_perm, shingle_size))
    step = max(1_000, len(texts) // (workers * 8))
    chunks = [(texts[i : i + step], num_perm, shingle_size) for i in range(0, len(texts), step)]
    out = np.empty((len(texts), num_perm), dtype=np.uint32)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, chunk in zip(range(0, len(texts), step), pool.map(_signature_chunk, chunks), strict=True):
            out[i : i + len(chunk)] = chunk  # filled as chunks arrive: no second copy of the whole array
    return out


def _lean(row: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=row, scheme=SCHEME)


def build_lsh(signatures: np.ndarray, threshold: float, keys: Sequence[Hashable] | None = None) -> MinHashLSH:
    """A ``MinHashLSH`` index over the signatures, keyed by row number unless ``keys`` are given.

    ``similar_pairs`` no longer uses it (it bands in numpy); it is the reference its test compares to.
    """
    lsh = MinHashLSH(threshold=threshold, num_perm=signatures.shape[1])
    with lsh.insertion_session() as session:
        for i, row in enumerate(signatures):
            session.insert(i if keys is None else keys[i], _lean(row))
    return lsh


def lsh_bands(threshold: float, num_perm: int) -> list[tuple[int, int]]:
    """``MinHashLSH``'s column ranges (bands) for ``threshold``: its own parameter choice."""
    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return [(k * rows, (k + 1) * rows) for k in range(bands)]


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _band_keys(signatures: np.ndarray, start: int, end: int) -> np.ndarray:
    """A uint64 key per row of one band (equal bands, equal keys; other collisions are checked later)."""
    key = np.zeros(len(signatures), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in range(start, end):
            key ^= signatures[:, col].astype(np.uint64)
            key *= _MIX
            key ^= key >> np.uint64(29)
    return key


def _bucket_pairs(keys: np.ndarray) -> np.ndarray:
    """Codes ``i * n + j`` (``i < j``) of the rows that share a key."""
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    same = ranked[1:] == ranked[:-1]
    if not same.any():
        return np.empty(0, dtype=np.int64)
    edge = np.flatnonzero(np.diff(np.concatenate(([False], same, [False])).astype(np.int8)))
    firsts, lasts = edge[::2], edge[1::2]  # runs of equal keys, as positions in sorted order
    in_run = np.zeros(n, dtype=bool)
    in_run[:-1] |= same
    in_run[1:] |= same
    pos = np.flatnonzero(in_run)
    after = np.repeat(lasts, lasts - firsts + 1) - pos  # later members of its run
    left = np.repeat(pos, after)
    step = np.arange(len(left)) - np.repeat(np.cumsum(after) - after, after) + 1
    i, j = order[left], order[left + step]
    return np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j)


def similar_pairs(signatures: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Row pairs ``(i, j)``, ``i < j``, whose estimated Jaccard similarity is at least ``threshold``.

    Candidates are ``MinHashLSH``'s (rows equal on every column of at least one of its bands, with
    its band choice), found by sorting a key per band in numpy instead of a dict insert and query
    per row; each is checked on the signatures (band really equal, then estimated Jaccard). A
    test checks the pairs equal those of ``MinHashLSH`` queries. A threshold of 1 (which LSH
    cannot band) pairs rows with identical signatures.
    """
    if threshold >= 1.0:
        same: dict[bytes, list[int]] = {}
        for i, row in enumerate(signatures):
            same.setdefault(row.tobytes(), []).append(i)
        return sorted((g[0], j) for g in same.values() for j in g[1:])
    n = len(signatures)
    bands = lsh_bands(threshold, signatures.shape[1])
    codes = sorted_unique(np.concatenate([_bucket_pairs(_band_keys(signatures, s, e)) for s, e in bands]))
    if not codes.size:
        return []
    first, second = codes // n, codes % n
    keep = _verified(signatures, signatures, first, second, bands, bands[-1][1], threshold)
    return list(zip(first[keep].tolist(), second[keep].tolist(), strict=True))


CANDIDATE_CHUNK = 2_000_000
"""Candidate pairs expanded at a time by ``similar_pairs_between`` (bounds its temporaries)."""


def similar_pairs_between(left: np.ndarray, right: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """``similar_pairs``' rule across two collections: ``(i, j, estimated Jaccard)`` of a left and a right row.

    Only pairs across are candidates (each band's left keys looked up in the right's sorted keys), so a
    large right side that repeats a template costs no pairs within itself. Ordered by ``(i, j)``.
    """
    if not len(left) or not len(right):
        return []
    if threshold >= 1.0:
        same: dict[bytes, list[int]] = {}
        for j, row in enumerate(right):
            same.setdefault(row.tobytes(), []).append(j)
        return [(i, j, 1.0) for i, row in enumerate(left) for j in same.get(row.tobytes(), [])]
    bands = lsh_bands(threshold, left.shape[1])
    banded = bands[-1][1]
    m = np.int64(len(right))
    found: list[np.ndarray] = []
    for start, end in bands:
        right_keys = _band_keys(right, start, end)
        order = np.argsort(right_keys, kind="stable")
        ranked = right_keys[order]
        keys = _band_keys(left, start, end)
        lo = np.searchsorted(ranked, keys, side="left")
        counts = np.searchsorted(ranked, keys, side="right") - lo
        ends = np.cumsum(counts)
        first = 0
        while first < len(left):
            budget = (ends[first - 1] if first else 0) + CANDIDATE_CHUNK
            last = max(first + 1, int(np.searchsorted(ends, budget, side="right")))
            n = counts[first:last]
            total = int(n.sum())
            if total:
                i = np.repeat(np.arange(first, last, dtype=np.int64), n)
                within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
                j = order[np.repeat(lo[first:last], n) + within]
                codes = sorted_unique(i * m + j)
                found.append(codes[_verified(left, right, codes // m, codes % m, bands, banded, threshold)])
            first = last
    if not found:
        return []
    codes = sorted_unique(np.concatenate(found))
    i, j = codes // m, codes % m
    scores = [float((left[a] == right[b]).mean()) for a, b in zip(i.tolist(), j.tolist(), strict=True)]
    return list(zip(i.tolist(), j.tolist(), scores, strict=True))


def _verified(left: np.ndarray, right: np.ndarray, first: np.ndarray, second: np.ndarray, bands: list[tuple[int, int]],
              banded: int, threshold: float) -> np.ndarray:
    """Which candidates really share a band and reach ``threshold`` (a key collision is not a band)."""
    keep = np.empty(len(first), dtype=bool)
    for k in range(0, len(first), 65_536):
        chunk = slice(k, k + 65_536)
        equal = left[first[chunk]] == right[second[chunk]]
        band_hit = equal[:, :banded].reshape(len(equal), len(bands), -1).all(axis=2).any(axis=1)
        keep[chunk] = band_hit & (equal.mean(axis=1) >= threshold)
    return keep


def _components(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


@dataclass(frozen=True)
class Cluster:
    """Indices of duplicates, the kept one, and how they were found."""

    kind: str
    members: list[int]
    kept: int


@dataclass(frozen=True)
class DedupeOutcome:
    """What survived, what was dropped and why, and the clusters."""

    kept: list[int]
    dropped: dict[int, str] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)


def deduplicate(
    texts: Sequence[str],
    rank: Callable[[int], tuple] | None = None,
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle_size: int = 3,
    workers: int | None = None,
) -> DedupeOutcome:
    """Exact then near-duplicate removal over ``texts``.

    Args:
        texts: One text per item.
        rank: Sort key of an index, smallest kept first; default keeps the first occurrence.
        threshold: Estimated Jaccard similarity of a near duplicate.
        num_perm: MinHash permutations.
        shingle_size: Words per shingle.
        workers: Processes for the signatures (see ``minhash_signatures``).

    Returns:
        Kept indices (ascending), dropped index -> ``exact_duplicate`` / ``near_duplicate``, clusters.
    """
    keys = [exact_key(text) for text in texts]
    row_of_key: dict[str, int] = {}
    rows = [row_of_key.setdefault(key, len(row_of_key)) for key in keys]
    firsts = {row: i for i, row in reversed(list(enumerate(rows)))}
    # exact duplicates share their words, hence their signature: one computed per distinct key
    distinct = minhash_signatures([texts[firsts[r]] for r in range(len(firsts))], num_perm, shingle_size, workers)
    return deduplicate_signed(keys, distinct[rows], rank, threshold)


def deduplicate_signed(
    keys: Sequence[Hashable],
    signatures: np.ndarray,
    rank: Callable[[int], tuple] | None = None,
    threshold: float = 0.8,
) -> DedupeOutcome:
    """Exact then near-duplicate removal over precomputed exact keys and MinHash signatures.

    The dataset build computes both per batch (on worker processes) and keeps only them in
    memory; ``deduplicate`` computes them from texts. Only the kept member of each exact-duplicate
    group takes part in the near-duplicate search (with its own signature row).

    Args:
        keys: One exact key per item (``exact_key`` of its text).
        signatures: One MinHash signature per item, ``(len(keys), num_perm)``.
        rank: Sort key of an index, smallest kept first; default keeps the first occurrence.
        threshold: Estimated Jaccard similarity of a near duplicate.

    Returns:
        Kept indices (ascending), dropped index -> ``exact_duplicate`` / ``near_duplicate``, clusters.
    """
    rank = rank or (lambda i: (i,))
    by_key: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    dropped: dict[int, str] = {}
    clusters: list[Cluster] = []
    survivors: list[int] = []
    for members in by_key.values():
        best = min(members, key=rank)
        survivors.append(best)
        if len(members) > 1:
            clusters.append(Cluster("exact", sorted(members), best))
            dropped.update({i: "exact_duplicate" for i in members if i != best})
    survivors.sort()
    for component in _components(len(survivors), similar_pairs(signatures[survivors], threshold)):
        members = [survivors[c] for c in component]
        best = min(members, key=rank)
        clusters.append(Cluster("near", sorted(members), best))
        dropped.update({i: "near_duplicate" for i in members if i != best})
    kept = [i for i in range(len(keys)) if i not in dropped]
    return DedupeOutcome(kept=kept, dropped=dropped, clusters=sorted(clusters, key=lambda c: c.members[0]))
