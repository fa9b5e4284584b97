"""Retrieval metrics, bootstrap intervals and check_regressions on literal rankings (no corpus)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from schemas.gate import MetricSummary, RetrievalCase, RetrievalEvaluation
from schemas.params import GateParams
from schemas.search import SearchHit
from tasks.serving.gate import (bootstrap_summary, check_regressions, ndcg_at, ranked_documents, recall_at,
                                reciprocal_rank, summarise)


def hit(doc_id: str, chunk: str) -> SearchHit:
    return SearchHit(doc_id=doc_id, chunk_id=chunk, score=1.0, text="")


def test_ranked_documents_dedupes_chunks_in_rank_order():
    hits = [hit("a.md", "1"), hit("b.md", "2"), hit("a.md", "3"), hit("c.md", "4")]
    assert ranked_documents(hits) == ["a.md", "b.md", "c.md"]


def test_metrics_on_a_known_ranking():
    ranked, relevant = ["x", "a", "y", "b"], {"a", "b"}
    assert recall_at(ranked, relevant, 2) == 0.5 and recall_at(ranked, relevant, 4) == 1.0
    assert reciprocal_rank(ranked, relevant, 10) == 0.5 and reciprocal_rank(ranked, relevant, 1) == 0.0
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at(ranked, relevant, 10) == pytest.approx(expected)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = np.array([0.0, 1.0, 1.0, 0.5, 1.0, 0.0, 1.0, 1.0])
    first, again = bootstrap_summary(values, 500, 0), bootstrap_summary(values, 500, 0)
    assert first == again and first.low <= first.mean <= first.high and first.low < first.high


def evaluation(version: str, recall: float) -> RetrievalEvaluation:
    summary = MetricSummary(mean=recall, low=recall, high=recall)
    return RetrievalEvaluation(version=version, k=10, mode="hybrid", queries=4, metrics={"recall@k": summary})


def test_check_regressions_uses_the_relative_tolerance():
    assert check_regressions(evaluation("v1", 0.80), evaluation("v2", 0.77), 0.05) == []
    regressions = check_regressions(evaluation("v1", 0.80), evaluation("v2", 0.70), 0.05)
    assert [(r.metric, r.change) for r in regressions] == [("recall@k", "-12.5%")]


def test_summarise_reports_every_metric():
    cases = [RetrievalCase(id="q1", text="t", relevant=["a"]), RetrievalCase(id="q2", text="t", relevant=["b"])]
    result = summarise("v1", [["a", "b"], ["a", "b"]], cases, GateParams(k=1, bootstrap_samples=50))
    assert set(result.metrics) == {"recall@k", "mrr@k", "ndcg@10"}
    assert result.metrics["recall@k"].mean == 0.5 and result.metrics["mrr@k"].mean == 0.5
