"""More ways to find copies: MinHash with containment (an excerpt of a longer text) and embedding similarity.

``deduplicate`` (exact, then MinHash Jaccard) misses a copied excerpt of a longer text: the
excerpt's shingles are all in the longer text, but the Jaccard of the two sets is about their
length ratio. ``containment_pairs`` finds pairs whose shorter text's distinct shingle hashes are mostly
in the longer one (``|A & B| / |A|``, A the smaller set): exact, by prefix filtering then verification
(``contained_between``), so a pair's verdict depends on its two texts alone (the pair store keeps them).
``semantic_pairs`` finds pairs whose embeddings (the project's embedding model, normalised) have
a cosine similarity at or above a threshold. ``deduplicate_methods`` runs the chosen methods in
order (exact, minhash, semantic), each over what the earlier ones kept, and reports each drop
under its method's reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tasks.common.arrays import sorted_unique
from tasks.dataset.dedupe import Cluster, DedupeOutcome, _components, deduplicate, shingle_hashes

Method = Literal["exact", "minhash", "semantic"]
METHODS: tuple[Method, ...] = ("exact", "minhash", "semantic")


def containment(a: set, b: set) -> float:
    """Share of the smaller set's shingles found in the larger one."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small) if small else 0.0


def text_containment(a: str, b: str, shingle_size: int = 3, min_shingles: int = 3) -> float:
    """The containment the dedupe calls a pair by, of two texts alone (0 when either has under ``min_shingles``)."""
    first, second = (set(s.tolist()) for s in distinct_shingle_hashes([a, b], shingle_size))
    return containment(first, second) if min(len(first), len(second)) >= min_shingles else 0.0


def containment_pairs(
    texts: Sequence[str], threshold: float, shingle_size: int = 3, min_shingles: int = 3
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, where the shorter text's distinct shingle hashes are at least ``threshold`` in the other.

    Texts with fewer than ``min_shingles`` shingles take no part (a two-word text is "contained"
    in anything that says those words). The one rule of the build and the pair store
    (``hashed_containment_pairs``): exact, and a function of the two texts alone.
    """
    return hashed_containment_pairs(distinct_shingle_hashes(texts, shingle_size), threshold, min_shingles)


def embed_texts(texts: Sequence[str], model_name: str, batch_size: int | None = None) -> np.ndarray:
    """Normalised embeddings of ``texts`` with the project's embedding model (batch size: the ingest's automatic one)."""
    from schemas.params import EmbedParams
    from tasks.common.models import load_embedding_model

    model = load_embedding_model(model_name)
    size = batch_size or EmbedParams().batch_size_on(str(model.device))
    vectors = model.encode(list(texts), batch_size=size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


PAIR_CHUNK = 2_000_000
"""Candidate pairs (or verified shingles) handled at a time by the containment join (bounds its temporaries)."""


@dataclass
class ShingleSets:
    """Texts' distinct shingle hashes, flat: set ``i`` is ``hashes[offsets[i]:offsets[i + 1]]`` (ascending).

    ``docs``, ``keys`` and ``buckets`` are computed once a collection (a containment update joins the
    pool's sets in both directions): treat an instance as immutable.
    """

    hashes: np.ndarray
    offsets: np.ndarray
    _docs: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _keys: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _buckets: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, sets: Sequence[np.ndarray]) -> ShingleSets:
        """From one array of distinct hashes per text (``distinct_shingle_hashes``)."""
        sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        flat = np.concatenate([np.asarray(s, dtype=np.uint32) for s in sets]) if len(sets) else np.zeros(0, np.uint32)
        return cls(flat, np.concatenate(([0], np.cumsum(sizes))).astype(np.int64))

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, rows: Sequence[int]) -> ShingleSets:
        """The sets at ``rows``, in that order."""
        return ShingleSets.of([self.hashes[self.offsets[r] : self.offsets[r + 1]] for r in rows])

    @classmethod
    def concat(cls, parts: Sequence[ShingleSets]) -> ShingleSets:
        """The sets of ``parts``, one after another."""
        starts = np.cumsum([0] + [len(p.hashes) for p in parts[:-1]])
        offsets = [parts[0].offsets[:1] if parts else np.zeros(1, np.int64)]
        offsets += [p.offsets[1:] + s for p, s in zip(parts, starts, strict=True)]
        hashes = np.concatenate([p.hashes for p in parts]) if parts else np.zeros(0, np.uint32)
        return cls(hashes, np.concatenate(offsets).astype(np.int64))

    def docs(self) -> np.ndarray:
        """The set each flat hash belongs to (ascending)."""
        if self._docs is None:
            self._docs = np.repeat(np.arange(len(self), dtype=np.int64), self.sizes)
        return self._docs

    def keys(self) -> np.ndarray:
        """The sorted ``(set << 32) | hash`` of every flat hash (``_verify``'s look-up)."""
        if self._keys is None:
            keys = (self.docs().astype(np.uint64) << np.uint64(32)) | self.hashes.astype(np.uint64)
            # sets in order, each ascending and distinct: already sorted, unless a set broke the invariant
            self._keys = keys if len(keys) < 2 or bool((keys[1:] > keys[:-1]).all()) else np.sort(keys)
        return self._keys

    def buckets(self) -> np.ndarray:
        """Each set's hash count per bucket (``_bucket_counts``)."""
        if self._buckets is None:
            self._buckets = _bucket_counts(self)
        return self._buckets

    def within(self, universe: np.ndarray) -> ShingleSets:
        """Each set cut to its hashes in ``universe`` (sorted, distinct): what it can share with the sets ``universe`` is of."""
        if not len(universe):
            return ShingleSets(np.zeros(0, np.uint32), np.zeros(len(self) + 1, np.int64))
        at = np.minimum(np.searchsorted(universe, self.hashes), len(universe) - 1)
        inside = universe[at] == self.hashes
        counts = np.bincount(self.docs()[inside], minlength=len(self))
        return ShingleSets(self.hashes[inside], np.concatenate(([0], np.cumsum(counts))).astype(np.int64))


def _needed(sizes: np.ndarray, threshold: float) -> np.ndarray:
    """The least shared count ``o`` with ``o / size >= threshold`` (the verdict's own float comparison)."""
    o = np.ceil(threshold * sizes).astype(np.int64)
    lower = np.maximum(o - 1, 0)
    return np.where(lower / np.maximum(sizes, 1) >= threshold, lower, o)


def _prefix(sets: ShingleSets, taking: np.ndarray, needed: np.ndarray, frequency: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each taking set's ``size - o + 1`` rarest hashes (by ``frequency``, then value), ``o`` its ``needed``: ``(hashes, set)``.

    If ``|A & B| >= o``, some hash of any ``size - o + 1`` of A's hashes is in B (else the shared
    ones are among the other ``o - 1``): the pair is found whatever the order. Rarest first only
    keeps the candidates few (a common shingle rarely reaches a prefix). ``size`` is the hashes held: of a
    set cut to the hashes the other side has (``within``), every shared hash is among them.
    The order is one sort of 64-bit ``(set << 32) | rank`` codes, a hash's rank its place among the
    distinct hashes by ``(frequency, hash)``: a 3-key ``lexsort`` of every hash was 5x slower.
    """
    docs = sets.docs()
    keep = taking[docs]
    hashes, docs = sets.hashes[keep], docs[keep]
    values = sorted_unique(hashes)
    by_rank = values[np.lexsort((values, frequency(values)))]  # the distinct hashes, rarest first
    rank = np.empty(len(values), dtype=np.uint64)
    rank[np.searchsorted(values, by_rank)] = np.arange(len(values), dtype=np.uint64)
    codes = np.sort((docs.astype(np.uint64) << np.uint64(32)) | rank[np.searchsorted(values, hashes)])
    hashes, docs = by_rank[(codes & np.uint64(0xFFFFFFFF)).astype(np.int64)], (codes >> np.uint64(32)).astype(np.int64)
    first = np.searchsorted(docs, docs, side="left")  # docs ascending: where each set's hashes start
    rank_in_set = np.arange(len(docs), dtype=np.int64) - first
    prefix = rank_in_set < (sets.sizes - needed + 1)[docs]
    return hashes[prefix], docs[prefix]


def _verify(left: ShingleSets, right_keys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|left[a] & right[b]|`` per candidate, ``right_keys`` the sorted ``(set << 32) | hash`` of the right side."""
    shared = np.zeros(len(a), dtype=np.int64)
    sizes = left.sizes[a]
    ends = np.cumsum(sizes)
    lo = 0
    while lo < len(a):
        hi = max(lo + 1, int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + PAIR_CHUNK, side="right")))
        n = sizes[lo:hi]
        base = np.repeat(left.offsets[a[lo:hi]], n)
        within = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        query = (np.repeat(b[lo:hi].astype(np.uint64), n) << np.uint64(32)) | left.hashes[base + within].astype(np.uint64)
        at = np.minimum(np.searchsorted(right_keys, query), max(len(right_keys) - 1, 0))
        hit = (right_keys[at] == query) if len(right_keys) else np.zeros(len(query), dtype=bool)
        shared[lo:hi] = np.add.reduceat(hit.astype(np.int64), np.cumsum(n) - n) if len(n) else 0
        lo = hi
    return shared


BUCKETS = 128
"""Hash buckets of the overlap bound (``_bucket_counts``): 256 bytes a set."""
BOUND_CHUNK = 65_536
"""Candidates bounded at a time (two ``BUCKETS``-wide rows each)."""


def _bucket_counts(sets: ShingleSets) -> np.ndarray:
    """Each set's hash count per bucket (a multiplicative hash of the shingle hash): ``(sets, BUCKETS)``."""
    with np.errstate(over="ignore"):
        bucket = (sets.hashes.astype(np.uint32) * np.uint32(0x9E3779B1)) >> np.uint32(32 - (BUCKETS.bit_length() - 1))
    flat = np.bincount(sets.docs() * BUCKETS + bucket.astype(np.int64), minlength=len(sets) * BUCKETS)
    return flat.reshape(len(sets), BUCKETS).astype(np.uint16 if flat.max(initial=0) < 2**16 else np.uint32)


def _may_share(left: np.ndarray, right: np.ndarray, a: np.ndarray, b: np.ndarray, needed: np.ndarray) -> np.ndarray:
    """Whether ``|L_a & R_b|`` can reach ``needed``: the shared count is at most the sum of the per-bucket minima.

    A cheap exact filter before ``_verify`` (a bitmap-style filter of set similarity joins): on logs
    that share template text, most candidates of the prefix join share a few rare shingles and are far
    below the threshold.
    """
    keep = np.empty(len(a), dtype=bool)
    for k in range(0, len(a), BOUND_CHUNK):
        part = slice(k, k + BOUND_CHUNK)
        keep[part] = np.minimum(left[a[part]], right[b[part]]).sum(axis=1, dtype=np.int64) >= needed[part]
    return keep


def shingle_frequency(*sides: ShingleSets) -> Callable[[np.ndarray], np.ndarray]:
    """Each hash's count of sets holding it, over ``sides`` (0 for a hash none holds)."""
    values, counts = np.unique(np.concatenate([s.hashes for s in sides]), return_counts=True)

    def of(hashes: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(values, hashes), max(len(values) - 1, 0))
        return np.where(values[at] == hashes, counts[at], 0) if len(values) else np.zeros(len(hashes), np.int64)

    return of


def contained_between(
    left: ShingleSets, right: ShingleSets, threshold: float, min_shingles: int = 3, same: bool = False,
    frequency: Callable[[np.ndarray], np.ndarray] | None = None,
    left_sizes: np.ndarray | None = None, right_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j)`` of a left set no larger than a right set with ``|L_i & R_j| / |L_i| >= threshold``.

    Exact and a function of the two sets alone: every left set's prefix (``_prefix``) is joined with
    the right sets' hashes (sorted, ``searchsorted``), the candidates expanded ``PAIR_CHUNK`` at a
    time, and each candidate's shared count verified against the right sets' sorted keys. Sets under
    ``min_shingles`` take no part. ``same``: left and right are one collection (``i != j``).
    ``left_sizes`` / ``right_sizes``: the sets' whole sizes when a side holds each set cut to the hashes
    the other side has (``ShingleSets.within``: the shared counts are the same, and a small side's
    join no longer reads every hash of a large one).

    Returns:
        ``(i, j, containment)`` arrays, each pair once, ordered by ``(i, j)``.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    left_sizes = left.sizes if left_sizes is None else left_sizes
    right_sizes = right.sizes if right_sizes is None else right_sizes
    needed = _needed(left_sizes, threshold)
    left_taking = (left_sizes >= min_shingles) & (left.sizes >= needed)  # a cut set holding fewer can reach none
    right_taking = right_sizes >= min_shingles
    if not left_taking.any() or not right_taking.any():
        return empty
    frequency = frequency or (shingle_frequency(left) if same else shingle_frequency(left, right))
    pre_hashes, pre_docs = _prefix(left, left_taking, needed, frequency)
    right_docs = right.docs()
    keep = right_taking[right_docs]
    by_hash = np.sort((right.hashes[keep].astype(np.uint64) << np.uint64(32)) | right_docs[keep].astype(np.uint64))
    r_hashes, r_docs = (by_hash >> np.uint64(32)).astype(right.hashes.dtype), (by_hash & np.uint64(0xFFFFFFFF)).astype(np.int64)
    lo = np.searchsorted(r_hashes, pre_hashes, side="left")
    counts = np.searchsorted(r_hashes, pre_hashes, side="right") - lo
    before = np.concatenate(([0], np.cumsum(counts)))  # candidates before each prefix hash
    # windows of whole left sets (a set's prefix is contiguous: ``_prefix`` orders by set), so a pair is
    # expanded and verified in one window only
    bounds = np.flatnonzero(np.concatenate(([True], pre_docs[1:] != pre_docs[:-1], [True])))
    at_bounds = before[bounds]
    right_keys = right.keys()
    left_buckets, right_buckets = left.buckets(), right.buckets()
    m = np.int64(len(right))
    found_codes, found_scores = [], []
    k = 0
    while k < len(bounds) - 1:
        stop = max(k + 1, int(np.searchsorted(at_bounds, at_bounds[k] + PAIR_CHUNK, side="right")) - 1)
        first, last = bounds[k], bounds[stop]
        n = counts[first:last]
        total = int(n.sum())
        if total:
            idx = np.repeat(lo[first:last], n) + np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
            a, b = np.repeat(pre_docs[first:last], n), r_docs[idx]
            ok = right_sizes[b] >= left_sizes[a]
            if same:
                ok &= b != a
            codes = sorted_unique(a[ok] * m + b[ok])
            a, b = codes // m, codes % m
            bounded = _may_share(left_buckets, right_buckets, a, b, needed[a])
            codes, a, b = codes[bounded], a[bounded], b[bounded]
            score = _verify(left, right_keys, a, b) / left_sizes[a]
            hit = score >= threshold
            found_codes.append(codes[hit])
            found_scores.append(score[hit])
        k = stop
    if not found_codes:
        return empty
    codes, scores = np.concatenate(found_codes), np.concatenate(found_scores)
    return codes // m, codes % m, scores


def hashed_containment_pairs(
    shingle_sets: Sequence[np.ndarray], threshold: float, min_shingles: int = 3
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, whose smaller set's distinct shingle hashes are at least ``threshold`` in the other.

    Exact (``contained_between`` of the collection with itself): no shingle is skipped, so a pair's
    verdict depends on its two texts alone, as the pair store needs.
    """
    sets = ShingleSets.of(shingle_sets)
    i, j, _ = contained_between(sets, sets, threshold, min_shingles, same=True)
    return sorted(set(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), strict=True)))


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
