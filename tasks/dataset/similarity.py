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

from tasks.dataset.dedupe import Cluster, DedupeOutcome, _components, deduplicate, shingles

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


def embed_texts(texts: Sequence[str], model_name: str, batch_size: int = 64) -> np.ndarray:
    """Normalised embeddings of ``texts`` with the project's embedding model."""
    from tasks.common.models import load_embedding_model

    model = load_embedding_model(model_name)
    vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


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
