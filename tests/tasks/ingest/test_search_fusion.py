"""Hybrid fusion: document-level dedupe, normalisation, reciprocal-rank; then on a small real LanceDB."""

from __future__ import annotations

import pytest

from schemas.search import SearchHit
from tasks.ingest.search import Fusion, best_per_document, fuse


def hit(doc: str, chunk: str, score: float) -> SearchHit:
    return SearchHit(doc_id=doc, chunk_id=chunk, text=chunk, score=score)


def test_best_per_document_keeps_the_first_chunk_in_rank_order():
    hits = [hit("a", "a1", 0.9), hit("b", "b1", 0.8), hit("a", "a2", 0.7), hit("c", "c1", 0.6)]
    assert [(h.doc_id, h.chunk_id) for h in best_per_document(hits)] == [("a", "a1"), ("b", "b1"), ("c", "c1")]


def test_linear_fusion_returns_each_document_once_with_weighted_normalised_scores():
    vector = [hit("a", "a1", 0.8), hit("a", "a2", 0.7), hit("b", "b1", 0.4)]
    text = [hit("b", "b2", 10.0), hit("c", "c1", 5.0)]
    fused = fuse(vector, text, Fusion(method="linear", weight=0.5, normalise="max"), k=10)
    scores = {h.doc_id: h.score for h in fused}
    assert [h.doc_id for h in fused] == ["b", "a", "c"]
    assert scores == pytest.approx({"a": 0.5, "b": 0.5 * 0.5 + 0.5, "c": 0.25})
    assert next(h for h in fused if h.doc_id == "b").chunk_id == "b1"  # vector side's chunk kept first


def test_minmax_maps_the_worst_candidate_to_zero():
    fused = fuse([hit("a", "a", 0.9), hit("b", "b", 0.5)], [], Fusion(weight=1.0, normalise="minmax"), k=2)
    assert [(h.doc_id, h.score) for h in fused] == [("a", 1.0), ("b", 0.0)]


def test_rrf_uses_ranks_not_scores_and_cuts_at_k():
    vector = [hit("a", "a", 0.99), hit("b", "b", 0.98)]
    text = [hit("b", "b", 100.0), hit("c", "c", 1.0)]
    fused = fuse(vector, text, Fusion(method="rrf", weight=0.5, rrf_k=60), k=2)
    assert [h.doc_id for h in fused] == ["b", "a"]
    assert fused[0].score == pytest.approx(0.5 / 62 + 0.5 / 61)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_hybrid_on_a_real_lancedb_returns_documents_once_and_finds_both_sides(tmp_path):
    from flows.ingest import ingest_flow
    from schemas.params import IndexParams, IngestParams
    from tasks.ingest.search import open_corpus, search

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kiln.txt").write_text("Kiln firing\n\nThe XQ-77 kiln fires stoneware at 1280 degrees. " * 6, encoding="utf-8")
    (docs / "sleep.txt").write_text("Sleep\n\nGetting enough rest at night improves mood and memory.\n", encoding="utf-8")
    (docs / "tax.txt").write_text("Taxes\n\nFile the annual return before the April deadline.\n", encoding="utf-8")
    index = IndexParams(db=str(tmp_path / "lancedb"))
    ingest_flow(IngestParams(source_dir=str(docs), index=index))
    corpus = open_corpus(index)
    for fusion in (Fusion(), Fusion(method="rrf", weight=0.5, candidates=3)):
        lexical, semantic = search(corpus, ["XQ-77", "how to sleep better"], k=3, mode="hybrid", fusion=fusion)
        for hits in (lexical, semantic):
            assert len({h.doc_id for h in hits}) == len(hits)
        assert lexical[0].doc_id == "kiln.txt"
        assert semantic[0].doc_id == "sleep.txt"
