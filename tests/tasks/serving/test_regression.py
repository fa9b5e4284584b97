"""Regression sets from logs: no planted PII, no duplicates, strata capped, retrieval cases from rated retrievals."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams, RegressionParams, ServingParams
from tools.synthetic_logs import generate_logs
from tasks.serving.regression import build_regression_set, write_regression_set

PARAMS = ServingParams(regression=RegressionParams(max_per_stratum=4))


def synthetic_logs() -> tuple[list[LLMInteractionLog], list[str]]:
    """Synthetic logs (duplicates, PII, mixed temperatures and feedback) plus two rated retrievals."""
    corpus = generate_logs(400, seed=3, bad_rate=0.0)
    logs = [LLMInteractionLog.model_validate_json(line) for line in corpus.lines]
    base = json.loads(corpus.lines[0])
    for index, query in enumerate(["invoice for Maria Lopez", "invoice for Maria Lopez"]):
        record = {**base, "request_id": f"rag-{index}", "user_feedback": "thumbs_up", "retrieval_query": query,
                  "retrieved_documents": [{"id": "billing.md", "content_hash": "h"}]}
        logs.append(LLMInteractionLog.model_validate_json(json.dumps(record)))
    return logs, [pii.value for pii in corpus.planted_pii] + ["Maria Lopez"]


def test_regression_set_has_no_planted_pii_and_no_duplicates(tmp_path):
    logs, planted = synthetic_logs()
    cases, retrieval, counts, strata = build_regression_set(logs, PARAMS, DatasetParams())
    assert cases and counts["dropped_duplicate"] > 0  # the generator repeats conversations
    assert all(count <= 4 for count in strata.values()) and sum(strata.values()) == len(cases)
    assert len({case.id for case in cases}) == len(cases)
    assert len({json.dumps([c.messages, c.expected_output]) for c in cases}) == len(cases)
    assert all(case.source_request_id for case in cases)
    assert [(c.text, c.relevant) for c in retrieval] == [("invoice for <PERSON_1>", ["billing.md"])]
    manifest = write_regression_set(tmp_path / "set", cases, retrieval, counts, strata, PARAMS, datetime.now(timezone.utc))
    written = (tmp_path / "set" / "cases.jsonl").read_text(encoding="utf-8") + (tmp_path / "set" / "retrieval.jsonl").read_text()
    leaked = [value for value in planted if value in written]
    assert leaked == []
    assert manifest.counts["kept"] == len(cases) and set(manifest.files) == {"cases.jsonl", "retrieval.jsonl"}
    assert Counter(c.category for c in cases).keys() <= set(generate_logs(1).categories) | {"unlabelled"}
