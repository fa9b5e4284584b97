"""More ways to find copies: MinHash with containment (an excerpt of a longer text) and embedding similarity.

``deduplicate`` (exact, then MinHash Jaccard) misses a copied excerpt of a longer text: the
excerpt's shingles are all in the longer text, but the Jaccard of the two sets is about their
length ratio. ``containment_pairs`` finds pairs whose shorter text's shingles are mostly in the
longer one (``|A & B| / |A|``, A the smaller set), over an inverted index of shingles.
``semantic_pairs`` finds pairs whose embeddings (the project's embedding model, normalised) have
a cosine similarity at or above a threshold. ``deduplicate_methods`` runs the chosen methods in
order (exact, minhash, semantic), each over what the earlier ones kept, and reports each drop
under its method's reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from tasks.dataset.dedupe import Cluster, DedupeOutcome, _components, deduplicate, shingle_hashes, shingles

Method = Literal["exact", "minhash", "semantic"]
METHODS: tuple[Method, ...] = ("exact", "minhash", "semantic")
MAX_POSTINGS = 500
"""A shingle found in more texts than this is too common to point at a copy (it is skipped)."""


def containment(a: set[bytes], b: set[bytes]) -> float:
    """Share of the smaller set's shingles found in the larger one."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small) if small else 0.0


def containment_pairs(
    texts: Sequence[str], threshold: float, shingle_size: int = 3, min_shingles: int = 3
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, where the shorter text's shingles are at least ``threshold`` in the other.

    Texts with fewer than ``min_shingles`` shingles take no part (a two-word text is "contained"
    in anything that says those words).
    """
    sets = [set(shingles(t, shingle_size)) for t in texts]
    postings: dict[bytes, list[int]] = {}
    for i, s in enumerate(sets):
        if len(s) >= min_shingles:
            for shingle in s:
                postings.setdefault(shingle, []).append(i)
    pairs: list[tuple[int, int]] = []
    for i, s in enumerate(sets):
        if len(s) < min_shingles:
            continue
        shared: Counter[int] = Counter()
        for shingle in s:
            docs = postings[shingle]
            if len(docs) <= MAX_POSTINGS:
                shared.update(docs)
        for j, n in shared.items():
            if j == i or (len(sets[j]) < len(s)) or (len(sets[j]) == len(s) and j < i):
                continue  # each pair once: from its smaller member (ties: the lower index)
            if n / len(s) >= threshold:
                pairs.append((min(i, j), max(i, j)))
    return sorted(set(pairs))


def embed_texts(texts: Sequence[str], model_name: str, batch_size: int | None = None) -> np.ndarray:
    """Normalised embeddings of ``texts`` with the project's embedding model (batch size: the ingest's automatic one)."""
    from schemas.params import EmbedParams
    from tasks.common.models import load_embedding_model

    model = load_embedding_model(model_name)
    size = batch_size or EmbedParams().batch_size_on(str(model.device))
    vectors = model.encode(list(texts), batch_size=size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


PAIR_CHUNK = 2_000_000
"""Candidate pairs generated at a time by ``hashed_containment_pairs`` (bounds its temporaries)."""


def _sum_by_code(codes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(codes, kind="stable")
    codes, counts = codes[order], counts[order]
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return codes[starts], np.add.reduceat(counts, starts)


def hashed_containment_pairs(
    shingle_sets: Sequence[np.ndarray], threshold: float, min_shingles: int = 3, max_postings: int = MAX_POSTINGS
) -> list[tuple[int, int]]:
    """``containment_pairs`` over each text's distinct shingle hashes (``shingle_hashes``, deduplicated), in numpy.

    The inverted index is one sort of ``(hash, text)``; a hash held by more than ``max_postings``
    texts is skipped (as there), and a pair's shared count is over the other hashes while its
    containment divides by the smaller set's full size. Postings are expanded into pairs
    ``PAIR_CHUNK`` at a time and summed per pair, so memory follows the distinct candidate pairs.
    """
    sizes = np.fromiter(map(len, shingle_sets), dtype=np.int64, count=len(shingle_sets))
    taking = np.flatnonzero(sizes >= min_shingles)
    if len(taking) < 2:
        return []
    hashes = np.concatenate([shingle_sets[i] for i in taking]).astype(np.uint32)
    docs = np.repeat(taking, sizes[taking])
    order = np.argsort(hashes, kind="stable")
    hashes, docs = hashes[order], docs[order]
    starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(hashes)])))
    useful = (lengths >= 2) & (lengths <= max_postings)
    starts, lengths = starts[useful], lengths[useful]
    if not len(starts):
        return []
    m = len(shingle_sets)
    work = np.cumsum(lengths * (lengths - 1) // 2)
    codes, shared = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo = 0
    while lo < len(starts):
        hi = max(lo + 1, int(np.searchsorted(work, (work[lo - 1] if lo else 0) + PAIR_CHUNK, side="right")))
        first_parts, second_parts = [], []
        for length in np.unique(lengths[lo:hi]):  # runs of one length: all their pairs at once
            runs = starts[lo:hi][lengths[lo:hi] == length]
            a, b = np.triu_indices(int(length), k=1)
            first_parts.append(docs[runs[:, None] + a[None, :]].ravel())
            second_parts.append(docs[runs[:, None] + b[None, :]].ravel())
        first, second = np.concatenate(first_parts), np.concatenate(second_parts)
        chunk = np.minimum(first, second) * m + np.maximum(first, second)
        chunk_codes, chunk_counts = np.unique(chunk, return_counts=True)
        codes, shared = _sum_by_code(np.concatenate((codes, chunk_codes)), np.concatenate((shared, chunk_counts)))
        lo = hi
    i, j = codes // m, codes % m
    contained = shared / np.minimum(sizes[i], sizes[j]) >= threshold
    return list(zip(i[contained].tolist(), j[contained].tolist(), strict=True))


def distinct_shingle_hashes(texts: Sequence[str], size: int) -> list[np.ndarray]:
    """Each text's distinct shingle hashes (the hashes MinHash signs)."""
    hashes, counts = shingle_hashes(texts, size)
    return [np.unique(part) for part in np.split(hashes, np.cumsum(counts)[:-1])] if len(texts) else []


def semantic_pairs_blockwise(
    block: Callable[[int, int], np.ndarray], members: Sequence[int], threshold: float, size: int = 2048
) -> list[tuple[int, int]]:
    """``semantic_pairs`` over embeddings read a block at a time: positions ``(a, b)``, ``a < b``, in ``members``.

    ``block(start, stop)`` returns rows ``start`` to ``stop`` of the embeddings; ``members`` are the
    rows taking part (ascending). Two blocks are in memory at a time, never all the embeddings.
    """
    members = np.asarray(members, dtype=np.int64)
    if len(members) < 2:
        return []
    ranges = [(k, min(k + size, len(members))) for k in range(0, len(members), size)]

    def rows(lo: int, hi: int) -> np.ndarray:
        wanted = members[lo:hi]
        return block(int(wanted[0]), int(wanted[-1]) + 1)[wanted - wanted[0]]

    pairs: list[tuple[int, int]] = []
    for a, (lo, hi) in enumerate(ranges):
        left = rows(lo, hi)
        for lo2, hi2 in ranges[a:]:
            right = left if lo2 == lo else rows(lo2, hi2)
            r, c = np.nonzero(left @ right.T >= threshold)
            r, c = r + lo, c + lo2
            keep = r < c
            pairs += zip(r[keep].tolist(), c[keep].tolist(), strict=True)
    return sorted(pairs)


PairFinder = Callable[[list[int]], list[tuple[int, int]]]
"""Given the surviving items (ascending), pairs of positions among them that one method calls duplicates."""


def deduplicate_staged(
    n: int, stages: Sequence[tuple[str, PairFinder]], rank: Callable[[int], tuple]
) -> tuple[DedupeOutcome, dict[str, list[tuple[int, int]]]]:
    """Methods in order, each over what the earlier ones kept; each cluster keeps its best-ranked member.

    Args:
        n: Items.
        stages: ``(kind, finder)`` per method in effect: ``exact``, ``near``, ``contained``,
            ``semantic``; a drop's reason is ``<kind>_duplicate``.
        rank: Sort key of an item, smallest kept.

    Returns:
        The outcome (kept ascending, dropped item -> reason, clusters with their kind) and each
        method's pairs, as item pairs (for the leakage check).
    """
    outcome = DedupeOutcome(kept=[])
    survivors = list(range(n))
    found: dict[str, list[tuple[int, int]]] = {}
    for kind, finder in stages:
        pairs = finder(survivors) if len(survivors) > 1 else []
        found[kind] = [(survivors[a], survivors[b]) for a, b in pairs]
        survivors = _drop_components(survivors, pairs, kind, rank, outcome)
    clusters = sorted(outcome.clusters, key=lambda c: (c.members[0], c.kind))
    return DedupeOutcome(kept=survivors, dropped=dict(sorted(outcome.dropped.items())), clusters=clusters), found


def semantic_pairs(embeddings: np.ndarray, threshold: float, block: int = 1024) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of normalised embeddings with cosine similarity >= ``threshold``."""
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(embeddings), block):
        scores = embeddings[start : start + block] @ embeddings.T
        rows, cols = np.nonzero(scores >= threshold)
        pairs += [(start + r, c) for r, c in zip(rows.tolist(), cols.tolist(), strict=True) if start + r < c]
    return pairs


def _drop_components(
    survivors: list[int], pairs: list[tuple[int, int]], kind: str, rank: Callable[[int], tuple], outcome: DedupeOutcome
) -> list[int]:
    """Cluster ``pairs`` (indices into ``survivors``), keep each cluster's best, record the rest."""
    for component in _components(len(survivors), pairs):
        members = [survivors[c] for c in component]
        best = min(members, key=rank)
        outcome.clusters.append(Cluster(kind, sorted(members), best))
        outcome.dropped.update({i: f"{kind}_duplicate" for i in members if i != best})
    return [i for i in survivors if i not in outcome.dropped]


def deduplicate_methods(
    texts: Sequence[str],
    methods: Sequence[Method],
    threshold: float = 0.8,
    containment_threshold: float = 0.8,
    semantic_threshold: float = 0.95,
    num_perm: int = 128,
    shingle_size: int = 3,
    model_name: str = "all-MiniLM-L6-v2",
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> DedupeOutcome:
    """The chosen methods in order, each over what the earlier ones kept; the first occurrence is kept.

    ``exact``: same normalised text (``exact_duplicate``). ``minhash``: estimated Jaccard >=
    ``threshold`` (``near_duplicate``), then shingle containment >= ``containment_threshold``
    (``contained_duplicate``). ``semantic``: cosine of embeddings >= ``semantic_threshold``
    (``semantic_duplicate``).

    Returns:
        Kept indices (ascending), dropped index -> reason, clusters (kind ``exact``, ``near``,
        ``contained``, ``semantic``).
    """
    rank = lambda i: (i,)  # noqa: E731
    chosen = set(methods)
    if "minhash" in chosen:  # exact then near, as the build's dedupe does
        base = deduplicate(texts, threshold=threshold, num_perm=num_perm, shingle_size=shingle_size)
        if "exact" not in chosen:  # near only: exact copies are near copies too (Jaccard 1)
            base = DedupeOutcome(kept=base.kept, dropped={i: "near_duplicate" for i in base.dropped},
                                 clusters=[Cluster("near", c.members, c.kept) for c in base.clusters])
    elif "exact" in chosen:
        base = deduplicate(texts, threshold=1.0, num_perm=num_perm, shingle_size=shingle_size)
        base = DedupeOutcome(kept=[], dropped={i: r for i, r in base.dropped.items() if r == "exact_duplicate"},
                             clusters=[c for c in base.clusters if c.kind == "exact"])
    else:
        base = DedupeOutcome(kept=[])
    outcome = DedupeOutcome(kept=[], dropped=dict(base.dropped), clusters=list(base.clusters))
    survivors = [i for i in range(len(texts)) if i not in outcome.dropped]
    if "minhash" in chosen:
        pairs = containment_pairs([texts[i] for i in survivors], containment_threshold, shingle_size)
        survivors = _drop_components(survivors, pairs, "contained", rank, outcome)
    if "semantic" in chosen and survivors:
        vectors = (embed or (lambda t: embed_texts(t, model_name)))([texts[i] for i in survivors])
        survivors = _drop_components(survivors, semantic_pairs(vectors, semantic_threshold), "semantic", rank, outcome)
    return DedupeOutcome(
        kept=survivors, dropped=outcome.dropped, clusters=sorted(outcome.clusters, key=lambda c: c.members[0])
    )


def per_method(outcome: DedupeOutcome) -> dict[str, int]:
    """Drops by reason (one reason per method)."""
    return dict(sorted(Counter(outcome.dropped.values()).items()))
