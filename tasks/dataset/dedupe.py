"""Exact then near-duplicate removal (datasketch MinHash LSH), with a keep policy and clusters.

Exact duplicates share the sha256 of their normalised text (NFKC, case-folded, whitespace
collapsed). Near duplicates are found among what is left: word shingles, MinHash signatures
(datasketch's ``MinHash.bulk`` with a CRC32 shingle hash, in worker processes for large inputs),
``MinHashLSH`` candidates, each candidate pair verified on its estimated Jaccard similarity, and
connected components of the verified pairs as clusters. In each cluster the best-ranked member is
kept (the caller's rank: for examples, highest quality score, then newest).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

_PUNCT = re.compile(r"[^\w\s<>]+")
SEED = 1
SCHEME = "affine32"
PARALLEL_MIN_DOCS = 20_000


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the text exact duplicates share."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def exact_key(text: str) -> str:
    """sha256 of the normalised text."""
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def shingles(text: str, size: int) -> list[bytes]:
    """Distinct word ``size``-grams of the normalised text without punctuation (the text itself when shorter)."""
    words = _PUNCT.sub(" ", normalise(text)).split()
    if len(words) <= size:
        return [" ".join(words).encode()]
    return list({" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)})


def _signature_chunk(args: tuple[Sequence[str], int, int]) -> np.ndarray:
    texts, num_perm, size = args
    minhashes = MinHash.bulk((shingles(t, size) for t in texts), num_perm=num_perm, seed=SEED, hashfunc=zlib.crc32)
    return np.vstack([m.hashvalues for m in minhashes]) if minhashes else np.empty((0, num_perm), np.uint32)


def minhash_signatures(texts: Sequence[str], num_perm: int, shingle_size: int, workers: int | None = None) -> np.ndarray:
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
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return np.vstack(list(pool.map(_signature_chunk, chunks)))


def build_lsh(signatures: np.ndarray, threshold: float, keys: Sequence[Hashable] | None = None) -> MinHashLSH:
    """An LSH index over the signatures, keyed by row number unless ``keys`` are given."""
    lsh = MinHashLSH(threshold=threshold, num_perm=signatures.shape[1])
    with lsh.insertion_session() as session:
        for i, row in enumerate(signatures):
            session.insert(i if keys is None else keys[i], LeanMinHash(seed=SEED, hashvalues=row, scheme=SCHEME))
    return lsh


def similar_pairs(signatures: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Row pairs ``(i, j)``, ``i < j``, whose estimated Jaccard similarity is at least ``threshold``."""
    lsh = build_lsh(signatures, threshold)
    pairs: set[tuple[int, int]] = set()
    for i, row in enumerate(signatures):
        for j in lsh.query(LeanMinHash(seed=SEED, hashvalues=row, scheme=SCHEME)):
            if j > i and float(np.mean(signatures[i] == signatures[j])) >= threshold:
                pairs.add((i, j))
    return sorted(pairs)


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
    rank = rank or (lambda i: (i,))
    by_key: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        by_key.setdefault(exact_key(text), []).append(i)
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
    signatures = minhash_signatures([texts[i] for i in survivors], num_perm, shingle_size, workers)
    for component in _components(len(survivors), similar_pairs(signatures, threshold)):
        members = [survivors[c] for c in component]
        best = min(members, key=rank)
        clusters.append(Cluster("near", sorted(members), best))
        dropped.update({i: "near_duplicate" for i in members if i != best})
    kept = [i for i in range(len(texts)) if i not in dropped]
    return DedupeOutcome(kept=kept, dropped=dropped, clusters=sorted(clusters, key=lambda c: c.members[0]))
