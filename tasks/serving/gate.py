"""The retrieval gate: evaluate a corpus version, compare it with the last good one, move CURRENT.

Metrics are document-level (chunk hits deduplicated to document ids in rank order): recall@k,
MRR@k and nDCG@10 (linear gains; graded when the set has grades, as BEIR qrels do), each with a 95% percentile-bootstrap confidence interval
over the queries. A metric regresses as in the chapter's ``check_regressions``: when it falls
below ``baseline x (1 - tolerance)``. A regressing version keeps CURRENT on the baseline unless the
gate is set to warn only; a passing version that is the newest becomes CURRENT. Each decision is
recorded beside the manifests (``<manifest root>/gate/<version>.json``) so the next run compares
with the last version that passed, not with a rejected one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from schemas.gate import GateAction, GateResult, MetricSummary, Regression, RetrievalCase, RetrievalEvaluation
from schemas.params import GateParams, IndexParams
from schemas.search import SearchHit
from tasks.ingest import versions

METRICS = ("recall@k", "mrr@k", "ndcg@10")
NDCG_CUTOFF = 10
GATE_FOLDER = "gate"


def read_retrieval_set(path: Path, split: str = "test") -> list[RetrievalCase]:
    """The retrieval set's cases: a JSONL file (blank lines skipped) or a BEIR folder.

    A BEIR folder (``queries.jsonl`` + ``qrels/<split>.tsv``, graded relevance) is judged against
    the documents its corpus became when written by ``tasks.ingest.beir.write_documents``.
    """
    if path.is_dir():
        from tasks.ingest.beir import read_beir_cases

        return read_beir_cases(path, split)
    lines = path.read_text(encoding="utf-8").splitlines()
    return [RetrievalCase.model_validate_json(line) for line in lines if line.strip()]


def ranked_documents(hits: Sequence[SearchHit]) -> list[str]:
    """Document ids in rank order, each once (its best chunk's rank)."""
    return list(dict.fromkeys(hit.doc_id for hit in hits))


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 / rank of the first relevant document in the top k (0 when none)."""
    return next((1.0 / rank for rank, doc in enumerate(ranked[:k], start=1) if doc in relevant), 0.0)


def ndcg_at(ranked: Sequence[str], relevant: set[str] | Mapping[str, int], k: int) -> float:
    """nDCG over the top k with linear gains (as pytrec_eval / BEIR).

    ``relevant`` is a set (every document grade 1) or a mapping of document -> grade; grades of 0
    or less count as not relevant.
    """
    grades = dict(relevant) if isinstance(relevant, Mapping) else dict.fromkeys(relevant, 1)
    dcg = sum(grades.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1) if grades.get(doc, 0) > 0)
    best = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(best, start=1))
    return dcg / ideal if ideal else 0.0


def per_query_metrics(rankings: Sequence[Sequence[str]], cases: Sequence[RetrievalCase], k: int) -> dict[str, np.ndarray]:
    """Each metric's value for every query."""
    relevant = [set(case.relevant) for case in cases]
    return {
        "recall@k": np.array([recall_at(r, rel, k) for r, rel in zip(rankings, relevant)]),
        "mrr@k": np.array([reciprocal_rank(r, rel, k) for r, rel in zip(rankings, relevant)]),
        "ndcg@10": np.array([ndcg_at(r, case.grades or rel, NDCG_CUTOFF) for r, rel, case in zip(rankings, relevant, cases)]),
    }


def bootstrap_summary(values: np.ndarray, samples: int, seed: int) -> MetricSummary:
    """Mean and 95% percentile-bootstrap interval (resampling queries with replacement)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return MetricSummary(mean=round(float(values.mean()), 6), low=round(float(low), 6), high=round(float(high), 6))


def summarise(version: str, rankings: Sequence[Sequence[str]], cases: Sequence[RetrievalCase], gate: GateParams) -> RetrievalEvaluation:
    """The version's evaluation from its document rankings."""
    values = per_query_metrics(rankings, cases, gate.k)
    metrics = {name: bootstrap_summary(values[name], gate.bootstrap_samples, gate.seed) for name in METRICS}
    return RetrievalEvaluation(version=version, k=gate.k, mode=gate.mode, queries=len(cases), metrics=metrics)


def check_regressions(baseline: RetrievalEvaluation, current: RetrievalEvaluation, tolerance: float) -> list[Regression]:
    """Metrics below ``baseline x (1 - tolerance)`` (all are higher-is-better), as the chapter does."""
    regressions = []
    for name, before in baseline.metrics.items():
        after = current.metrics[name].mean
        if after < before.mean * (1 - tolerance):
            change = f"{(after / before.mean - 1) * 100:.1f}%"
            regressions.append(Regression(metric=name, baseline=before.mean, current=after, change=change))
    return regressions


def gate_record_path(root: Path, version: str) -> Path:
    """Where the gate's decision on ``version`` is kept."""
    return root / GATE_FOLDER / f"{version}.json"


def read_gate_record(root: Path, version: str) -> GateResult | None:
    """The recorded decision on ``version``, if the gate ran on it."""
    path = gate_record_path(root, version)
    return GateResult.model_validate_json(path.read_text(encoding="utf-8")) if path.exists() else None


def choose_baseline(root: Path, version: str) -> str | None:
    """The nearest ancestor of ``version`` that the gate did not reject (None for the first version)."""
    parent = versions.read_manifest(root, version).parent_version
    while parent is not None:
        record = read_gate_record(root, parent)
        if record is None or record.passed or record.action == "warned":
            return parent
        parent = versions.read_manifest(root, parent).parent_version
    return None


def move_pointer(root: Path, version: str, baseline: str | None, passed: bool, warn_only: bool) -> GateAction:
    """Apply the verdict to CURRENT: hold it on the baseline, or promote the newest passing version."""
    if not passed and warn_only:
        return "warned"
    if not passed and baseline is not None:
        versions.atomic_write_text(root / versions.CURRENT, baseline + "\n")
        return "held_back"
    if passed and versions.read_pointer(root, versions.LATEST) == version:
        versions.atomic_write_text(root / versions.CURRENT, version + "\n")
        return "promoted"
    return "kept"


def render_report(result: GateResult) -> str:
    """The markdown report of one gate run."""
    verdict = "passed" if result.passed else f"REGRESSED ({len(result.regressions)} metric(s))"
    lines = [
        f"# Retrieval gate: {result.version}", "",
        f"- baseline: {result.baseline_version or 'none (first version)'}",
        f"- verdict: {verdict}; tolerance {result.tolerance:.0%}; action: {result.action}; CURRENT -> {result.current}",
        f"- {result.evaluation.queries} queries, k={result.evaluation.k}, mode {result.evaluation.mode}", "",
        "| metric | " + result.version + " (95% CI) | baseline (95% CI) |", "|---|---|---|",
    ]
    for name, now in result.evaluation.metrics.items():
        before = result.baseline.metrics[name] if result.baseline else None
        cell = f"{before.mean:.3f} [{before.low:.3f}, {before.high:.3f}]" if before else "-"
        lines.append(f"| {name} | {now.mean:.3f} [{now.low:.3f}, {now.high:.3f}] | {cell} |")
    for regression in result.regressions:
        lines.append(f"\n- regression: {regression.metric} {regression.baseline:.3f} -> {regression.current:.3f} ({regression.change})")
    return "\n".join(lines) + "\n"


def evaluate_version(index: IndexParams, version: str, cases: Sequence[RetrievalCase], gate: GateParams) -> RetrievalEvaluation:
    """Search ``version`` with every case (enough chunks to fill the document cut-offs) and summarise."""
    from tasks.ingest.search import open_corpus, search

    corpus = open_corpus(index, version)
    depth = max(gate.k, NDCG_CUTOFF) * 3
    hits = search(corpus, [case.text for case in cases], depth, gate.mode)
    return summarise(version, [ranked_documents(row) for row in hits], cases, gate)


def run_gate(index: IndexParams, gate: GateParams, version: str, against: str | None = None, record: bool = True) -> GateResult:
    """Evaluate ``version``, compare with ``against`` (default: the last good ancestor), move CURRENT, report.

    Args:
        index: Where the corpus lives.
        gate: Retrieval set, cut-offs, tolerance, warn-only, bootstrap and report folder.
        version: The corpus version to judge.
        against: An explicit baseline version.
        record: False evaluates only: CURRENT is not moved and no decision is recorded beside the
            manifests (for ``dvc repro evaluate``, which must not write into the ingest stage's output).

    Returns:
        The verdict, also written as ``<report_dir>/<version>.md`` and recorded beside the manifests.

    Raises:
        versions.VersionNotFound: when a version was never published.
    """
    root = versions.manifest_root(index)
    versions.read_manifest(root, version)
    cases = read_retrieval_set(Path(gate.retrieval_set))
    baseline_version = against or choose_baseline(root, version)
    evaluation = evaluate_version(index, version, cases, gate)
    baseline = evaluate_version(index, baseline_version, cases, gate) if baseline_version else None
    regressions = check_regressions(baseline, evaluation, gate.tolerance) if baseline else []
    if record:
        action = move_pointer(root, version, baseline_version, not regressions, gate.warn_only)
    else:
        action = "warned" if regressions else "kept"
    report = Path(gate.report_dir) / f"{version}.md"
    result = GateResult(
        version=version, baseline_version=baseline_version, tolerance=gate.tolerance, passed=not regressions,
        action=action, current=versions.read_pointer(root, versions.CURRENT), regressions=regressions,
        evaluation=evaluation, baseline=baseline, report=str(report),
    )
    versions.atomic_write_text(report, render_report(result))
    if record:
        versions.atomic_write_text(gate_record_path(root, version), result.model_dump_json(indent=2))
    return result
