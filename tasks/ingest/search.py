"""Search a published corpus version: vector, full-text (BM25) or hybrid (weighted score fusion)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.rerankers import LinearCombinationReranker

from schemas.corpus import CorpusManifest
from schemas.params import EmbedParams, IndexParams
from schemas.search import SearchHit, SearchMode
from tasks.ingest import index, versions
from tasks.ingest.embed import Embedder, load_embedder

DEFAULT_MODE: SearchMode = "fts"
"""Measured best on the labelled set (docs/benchmarks.md); hybrid and vector are a flag away."""
_COLUMNS = ["doc_id", "chunk_id", "text"]
HYBRID_CANDIDATES = 2
HYBRID_VECTOR_WEIGHT = 0.3
"""Share of the vector score in hybrid search (the rest is BM25, divided by the query's best)."""
_FUSION = LinearCombinationReranker(weight=HYBRID_VECTOR_WEIGHT, return_score="relevance")


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


def _max_normalised(results: pa.Table) -> pa.Table:
    """BM25 scores divided by the best one, so they share the vector side's 0-1 range before fusion."""
    if results.num_rows == 0:
        return results
    scores = results["_score"]
    top = pc.max(scores).as_py() or 1.0
    return results.set_column(results.schema.get_field_index("_score"), "_score", pc.divide(scores, top))


def search_vectors(corpus: Corpus, texts: Sequence[str], vectors: np.ndarray, k: int, mode: SearchMode) -> list[list[SearchHit]]:
    """Run one search per query with precomputed query vectors.

    Hybrid fuses the vector and full-text candidate lists (``HYBRID_CANDIDATES`` x k each)
    with LanceDB's linear-combination reranker (``HYBRID_VECTOR_WEIGHT`` on the vector score).
    """
    results = []
    for text, vector in zip(texts, vectors):
        if mode == "vector":
            results.append(_hits(_vector_query(corpus, vector, k).to_list(), lambda row: 1.0 - row["_distance"]))
        elif mode == "fts":
            results.append(_hits(_text_query(corpus, text, k).to_list(), lambda row: row["_score"]))
        else:
            limit = k * HYBRID_CANDIDATES
            fused = _FUSION.rerank_hybrid(
                text,
                _vector_query(corpus, vector, limit).with_row_id(True).to_arrow(),
                _max_normalised(_text_query(corpus, text, limit).with_row_id(True).to_arrow()),
            )
            results.append(_hits(fused.slice(0, k).to_pylist(), lambda row: row["_relevance_score"]))
    return results


def search(corpus: Corpus, texts: Sequence[str], k: int = 10, mode: SearchMode = DEFAULT_MODE) -> list[list[SearchHit]]:
    """Embed the queries in one batch (not for full-text) and search each; results best first."""
    if mode == "fts":  # no model needed
        vectors = np.zeros((len(texts), corpus.manifest.model.dimension), np.float32)
    else:
        vectors = corpus.embedder.encode(list(texts))
    return search_vectors(corpus, texts, vectors, k, mode)
