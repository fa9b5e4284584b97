"""The warm set: only deterministic, positively rated calls; responses redacted; document ids recorded."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams, ServingParams
from tasks.serving.cache_key import cache_key
from tasks.serving.warm import build_warm_set, log_request

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)
PII_RESPONSE = "Sure, Jane Doe: write to jane.doe@example.com and we reset it."


def log(request_id: str, *, temperature: float = 0.0, feedback: str | None = "thumbs_up", user: str = "reset my password",
        response: str = PII_RESPONSE, documents: list[dict] | None = None) -> LLMInteractionLog:
    return LLMInteractionLog.model_validate_json(json.dumps({
        "request_id": request_id, "timestamp": "2026-11-01T10:00:00+00:00", "model": "haiku", "model_version": "m1",
        "temperature": temperature, "max_tokens": 256, "system_prompt": "Be brief.", "user_message": user,
        "full_prompt": "Be brief.\n" + user, "prompt_token_count": 5, "response": response, "completion_token_count": 9,
        "total_latency_ms": 120.0, "user_feedback": feedback, "prompt_template_id": "support", "prompt_template_version": "abc",
        "retrieved_documents": documents, "corpus_version": "v1" if documents else None,
    }))


def test_warm_set_keeps_only_deterministic_positive_calls_redacted():
    logs = [
        log("r1", documents=[{"id": "billing.md", "content_hash": "h1", "score": 0.9}]),
        log("r2", temperature=0.7),
        log("r3", feedback="thumbs_down", user="other"),
        log("r4", feedback=None, user="third"),
        log("r5", user="a different question", response="No personal data here, just steps."),
    ]
    warm = build_warm_set(logs, ServingParams(), DatasetParams(), NOW)
    assert warm.counts["total"] == 5 and warm.counts["kept"] == 2
    assert warm.counts["dropped_not_deterministic"] == 1 and warm.counts["dropped_not_positively_rated"] == 2
    by_request = {entry.source_request_id: entry for entry in warm.entries}
    first = by_request["r1"]
    assert first.key == cache_key(log_request(logs[0])).key
    assert first.doc_ids == ("billing.md",) and first.corpus_version == "v1" and first.ttl == ServingParams().cache.ttl_seconds
    assert "jane.doe@example.com" not in first.response and "Jane Doe" not in first.response
    assert "<EMAIL_ADDRESS_1>" in first.response
    assert by_request["r5"].response == "No personal data here, just steps."


def test_unreadable_lines_are_counted_not_skipped(tmp_path):
    """Regression: ``read_logs`` skipped bad lines without counting them, so totals hid lost lines."""
    from tasks.serving.warm import warm_set_from_folder

    good = log("r1").model_dump_json()
    broken = json.loads(good) | {"request_id": "r2", "temperature": "hot"}
    (tmp_path / "a.jsonl").write_text(f"{good}\n{{not json\n\n{json.dumps(broken)}\n")
    warm = warm_set_from_folder(tmp_path, ServingParams(), DatasetParams(), NOW)
    assert warm.counts["total"] == 4 and warm.counts["kept"] == 1
    assert warm.counts["dropped_invalid_json"] == 1 and warm.counts["dropped_empty_line"] == 1
    assert warm.counts["dropped_schema_invalid"] == 1
