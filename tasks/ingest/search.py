"""Search a published corpus version: vector, full-text (BM25) or hybrid (weighted score fusion)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from schemas.corpus import CorpusManifest
from schemas.params import EmbedParams, IndexParams
from schemas.search import DEFAULT_MODE, SearchHit, SearchMode
from tasks.ingest import index, versions
from tasks.ingest.embed import Embedder, load_embedder

"""Measured best on the labelled set (docs/benchmarks.md); hybrid and vector are a flag away."""
_COLUMNS = ["doc_id", "chunk_id", "text"]
HYBRID_CANDIDATES = 2
HYBRID_VECTOR_WEIGHT = 0.3
"""Share of the vector score in hybrid search (the rest is BM25, divided by the query's best)."""
FusionMethod = Literal["linear", "rrf"]
RRF_K = 60


@dataclass(frozen=True)
class Fusion:
    """How hybrid search merges its two candidate lists (document-level: a document's best chunk counts).

    Attributes:
        method: ``linear``: ``weight x vector + (1 - weight) x bm25`` on normalised scores;
            ``rrf``: reciprocal-rank fusion, ``sum 1 / (rrf_k + rank)`` (weighted per side).
        weight: Share of the vector side.
        candidates: Candidates per side, as a multiple of k.
        normalise: ``max`` divides by the query's best score; ``minmax`` maps best..worst to 1..0.
        rrf_k: The RRF constant.
    """

    method: FusionMethod = "linear"
    weight: float = HYBRID_VECTOR_WEIGHT
    candidates: int = HYBRID_CANDIDATES
    normalise: Literal["max", "minmax"] = "max"
    rrf_k: int = RRF_K


DEFAULT_FUSION = Fusion()


@dataclass(frozen=True)
class Corpus:
    """A published corpus version opened for reading; its model loads on first vector search."""

    manifest: CorpusManifest
    table: object

    @functools.cached_property
    def embedder(self) -> Embedder:
        """The model that embedded this version, refused if its weights differ from the manifest's."""
        embed = self.manifest.embed
        embedder = load_embedder(EmbedParams(model=embed.model, batch_size=embed.batch_size, device=embed.device))
        if embedder.info.fingerprint != self.manifest.model.fingerprint:
            raise ValueError(
                f"model {self.manifest.model.name!r} loaded here has other weights than the one that built "
                f"{self.manifest.version} ({embedder.info.fingerprint[:12]} != {self.manifest.model.fingerprint[:12]})"
            )
        return embedder


def open_corpus(params: IndexParams, version: str | None = None) -> Corpus:
    """Open ``version`` (default: CURRENT) at its tagged table version.

    Raises:
        versions.VersionNotFound: when the version was never published.
    """
    root = versions.manifest_root(params)
    manifest = versions.read_manifest(root, versions.resolve_version(root, version))
    table = index.connect(params.db).open_table(params.table)
    table.checkout(manifest.version)
    return Corpus(manifest=manifest, table=table)


def _hits(rows: list[dict], score) -> list[SearchHit]:
    return [SearchHit(doc_id=row["doc_id"], chunk_id=row["chunk_id"], text=row["text"], score=float(score(row))) for row in rows]


def _vector_query(corpus: Corpus, vector: np.ndarray, limit: int):
    return corpus.table.search(vector, query_type="vector").distance_type("cosine").select([*_COLUMNS, "_distance"]).limit(limit)


def _text_query(corpus: Corpus, text: str, limit: int):
    return corpus.table.search(text, query_type="fts").select([*_COLUMNS, "_score"]).limit(limit)


def best_per_document(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """Each document's best chunk, in rank order (hits arrive best first)."""
    best: dict[str, SearchHit] = {}
    for hit in hits:
        best.setdefault(hit.doc_id, hit)
    return list(best.values())


def _normalised(scores: list[float], how: str) -> list[float]:
    if not scores:
        return []
    top, bottom = max(scores), min(scores)
    if how == "minmax":
        return [(s - bottom) / (top - bottom) if top > bottom else 1.0 for s in scores]
    return [s / top if top > 0 else 0.0 for s in scores]


def fuse(vector_hits: Sequence[SearchHit], text_hits: Sequence[SearchHit], fusion: Fusion, k: int) -> list[SearchHit]:
    """Merge two best-first hit lists into the top k documents (each once, with its best chunk).

    A document missing from one side gets 0 from that side. Ties keep the vector side's order.
    """
    sides = [(best_per_document(vector_hits), fusion.weight), (best_per_document(text_hits), 1.0 - fusion.weight)]
    scores: dict[str, float] = {}
    chunk: dict[str, SearchHit] = {}
    for hits, weight in sides:
        if fusion.method == "rrf":
            values = [1.0 / (fusion.rrf_k + rank) for rank in range(1, len(hits) + 1)]
        else:
            values = _normalised([hit.score for hit in hits], fusion.normalise)
        for hit, value in zip(hits, values):
            scores[hit.doc_id] = scores.get(hit.doc_id, 0.0) + weight * value
            chunk.setdefault(hit.doc_id, hit)
    ranked = sorted(scores, key=lambda doc: -scores[doc])[:k]
    return [chunk[doc].model_copy(update={"score": scores[doc]}) for doc in ranked]


def search_vectors(
    corpus: Corpus, texts: Sequence[str], vectors: np.ndarray, k: int, mode: SearchMode, fusion: Fusion = DEFAULT_FUSION
) -> list[list[SearchHit]]:
    """Run one search per query with precomputed query vectors.

    Hybrid fuses the vector and full-text candidate lists (``fusion.candidates`` x k chunks each)
    at document level with ``fuse``: it returns at most k hits, one per document.
    """
    results = []
    for text, vector in zip(texts, vectors):
        if mode == "vector":
            results.append(_hits(_vector_query(corpus, vector, k).to_list(), lambda row: 1.0 - row["_distance"]))
        elif mode == "fts":
            results.append(_hits(_text_query(corpus, text, k).to_list(), lambda row: row["_score"]))
        else:
            limit = k * fusion.candidates
            vector_hits = _hits(_vector_query(corpus, vector, limit).to_list(), lambda row: 1.0 - row["_distance"])
            text_hits = _hits(_text_query(corpus, text, limit).to_list(), lambda row: row["_score"])
            results.append(fuse(vector_hits, text_hits, fusion, k))
    return results


def search(
    corpus: Corpus, texts: Sequence[str], k: int = 10, mode: SearchMode = DEFAULT_MODE, fusion: Fusion = DEFAULT_FUSION
) -> list[list[SearchHit]]:
    """Embed the queries in one batch (not for full-text) and search each; results best first."""
    if mode == "fts":  # no model needed
        vectors = np.zeros((len(texts), corpus.manifest.model.dimension), np.float32)
    else:
        vectors = corpus.embedder.encode(list(texts))
    return search_vectors(corpus, texts, vectors, k, mode, fusion)
