"""Forgetting a user on the serving side: cache entries in both backends, regression sets, the deny-list honoured,
and the cache and regression sets redacted exactly as the dataset build redacts."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from schemas.gate import RegressionManifest
from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams, RegressionParams, ServingParams
from tasks.dataset.extract import log_to_example
from tasks.dataset.select import user_hash
from tasks.pii.redact import redact_examples, redact_strings
from tasks.serving.regression import build_regression_set, forget_user_cases, write_regression_set
from tasks.serving.store import USER_PREFIX, SqliteCacheStore
from tasks.serving.warm import build_warm_set

NOW = datetime.now(timezone.utc).replace(microsecond=0)
"""The warm entries' creation time: both backends stop serving an entry at created_at + ttl (7 days), so a
fixed date would leave none to forget a week after it."""
DATASET = DatasetParams()
SALT = DATASET.forget.user_hash_salt
PARAMS = ServingParams(regression=RegressionParams(name="golden", max_per_stratum=50))


def call(request_id: str, user_id: str, question: str, *, retrieval: bool = False) -> LLMInteractionLog:
    """A deterministic, positively rated call of ``user_id`` with PII in both the question and the answer."""
    return LLMInteractionLog.model_validate_json(json.dumps({
        "request_id": request_id, "timestamp": "2026-11-01T10:00:00+00:00", "model": "haiku", "model_version": "m1",
        "temperature": 0.0, "max_tokens": 256, "system_prompt": "Be brief.", "user_id": user_id,
        "user_message": f"I am Jane Doe, {question}", "full_prompt": None, "prompt_token_count": 5,
        "response": "Sure Jane Doe, write to jane.doe@example.com and John Smith replies.", "completion_token_count": 9,
        "total_latency_ms": None, "user_feedback": "thumbs_up", "prompt_template_id": "support",
        "prompt_template_version": "abc", "category": "account",
        **({"retrieval_query": f"{question} for Maria Lopez", "corpus_version": "v1",
            "retrieved_documents": [{"id": "billing.md", "content_hash": "h1"}]} if retrieval else {}),
    }))


LOGS = [
    call("r1", "alice", "reset my password", retrieval=True),
    call("r2", "bob", "close my account", retrieval=True),
    call("r3", "alice", "change my email"),
    call("r4", "carol", "update my card"),
]
ALICE = user_hash("alice", SALT)


def test_warm_entries_and_cases_are_redacted_exactly_as_the_dataset_build_redacts() -> None:
    """Regression: the warm set redacted responses alone and the regression sets every string alone, so their
    placeholders differed from the dataset's (one book per conversation: Jane Doe is PERSON_1 in every turn)."""
    dataset_examples = redact_examples([log_to_example(log, "logs.jsonl", n + 1, DATASET) for n, log in enumerate(LOGS)],
                                       DATASET.redact).examples
    warm = build_warm_set(LOGS, PARAMS, DATASET, NOW)
    by_request = {entry.source_request_id: entry for entry in warm.entries}
    cases, *_ = build_regression_set(LOGS, PARAMS, DATASET)
    case_by_request = {case.source_request_id: case for case in cases}
    for log, example in zip(LOGS, dataset_examples):
        assert by_request[log.request_id].response == example.messages[-1].content
        assert "Jane" not in example.messages[-1].content and "<EMAIL_ADDRESS_1>" in example.messages[-1].content
        case = case_by_request[log.request_id]
        assert case.expected_output == example.messages[-1].content
        assert [m["content"] for m in case.messages] == [m.content for m in example.messages[:-1]]
    assert by_request["r1"].user_hash == ALICE == case_by_request["r1"].user_hash
    alone, _ = redact_strings([LOGS[0].response], DATASET.redact)  # what the warm set used to store
    assert alone[0] != by_request["r1"].response


def test_forget_removes_the_users_entries_from_the_local_backend(tmp_path: Path) -> None:
    store = SqliteCacheStore(tmp_path / "cache.sqlite3")
    for entry in build_warm_set(LOGS, PARAMS, DATASET, NOW).entries:
        store.put(entry)
    assert len(store.keys()) == 4
    assert store.delete_for_user(ALICE) == 2
    assert sorted(store.get(k).source_request_id for k in store.keys()) == ["r2", "r4"]
    assert store.delete_for_user(ALICE) == 0
    plan = store._db.execute("EXPLAIN QUERY PLAN SELECT key FROM entries WHERE user_hash = ?", ("x",)).fetchall()
    assert "entries_by_user" in str(plan)  # an index lookup, not a scan of every entry
    store.close()


def test_a_cache_file_from_before_user_hashes_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the schema entries had before they carried their user
        db.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, model TEXT NOT NULL, model_version TEXT, "
                   "expires_at TEXT, entry TEXT NOT NULL)")
        db.execute("INSERT INTO entries VALUES ('k', 'm', NULL, NULL, ?)",
                   (json.dumps({"key": "k", "response": "r", "model": "m", "created_at": NOW.isoformat()}),))
    store = SqliteCacheStore(path)
    entry = build_warm_set(LOGS[:1], PARAMS, DATASET, NOW).entries[0]
    store.put(entry)
    assert store.get("k") is not None and store.delete_for_user(ALICE) == 1 and store.keys() == ["k"]
    store.close()


def test_forget_removes_the_users_entries_from_redis(redis_store) -> None:
    entries = build_warm_set(LOGS, PARAMS, DATASET, NOW).entries
    for entry in entries:
        redis_store.put(entry)
    alice_keys = sorted(e.key for e in entries if e.user_hash == ALICE)
    assert sorted(redis_store._redis.smembers(USER_PREFIX + ALICE)) == alice_keys
    assert redis_store.delete_for_user(ALICE) == 2
    assert sorted(redis_store.get(k).source_request_id for k in redis_store.keys()) == ["r2", "r4"]
    assert not redis_store._redis.exists(USER_PREFIX + ALICE)
    assert all(key not in redis_store._redis.smembers("tributary:model:haiku") for key in alice_keys)
    assert redis_store.delete_for_user(ALICE) == 0


def test_a_key_rewritten_by_another_users_call_is_not_deleted_with_the_first_user(redis_store) -> None:
    first = build_warm_set(LOGS[:1], PARAMS, DATASET, NOW).entries[0]
    redis_store.put(first)
    redis_store.put(first.model_copy(update={"user_hash": "someone-else", "source_request_id": "later"}))
    assert redis_store.delete_for_user(ALICE) == 0
    assert redis_store.get(first.key).source_request_id == "later"


def test_warm_and_regression_builds_leave_out_users_on_the_deny_list() -> None:
    warm = build_warm_set(LOGS, PARAMS, DATASET, NOW, denied=frozenset({ALICE}))
    assert {e.source_request_id for e in warm.entries} == {"r2", "r4"} and warm.counts["dropped_forgotten_user"] == 2
    cases, retrieval, counts, _ = build_regression_set(LOGS, PARAMS, DATASET, denied=frozenset({ALICE}))
    assert {c.source_request_id for c in cases} == {"r2", "r4"} and counts["dropped_forgotten_user"] == 2
    assert [r.user_hash for r in retrieval] == [user_hash("bob", SALT)]


@pytest.fixture()
def regression_set(tmp_path: Path) -> Path:
    cases, retrieval, counts, strata = build_regression_set(LOGS, PARAMS, DATASET)
    folder = tmp_path / "regression" / "golden"
    write_regression_set(folder, cases, retrieval, counts, strata, PARAMS, NOW)
    return folder


def test_forget_removes_the_users_cases_and_keeps_the_manifest_consistent(regression_set: Path) -> None:
    before = RegressionManifest.model_validate_json((regression_set / "manifest.json").read_text())
    kept_lines = [line for line in (regression_set / "cases.jsonl").read_text().splitlines() if ALICE not in line]
    removed = forget_user_cases(regression_set, ALICE, NOW)
    assert (removed.cases, removed.retrieval, removed.unattributed) == (2, 1, 0)
    assert ALICE not in (regression_set / "cases.jsonl").read_text() + (regression_set / "retrieval.jsonl").read_text()
    assert (regression_set / "cases.jsonl").read_text().splitlines() == kept_lines  # kept byte for byte
    manifest = RegressionManifest.model_validate_json((regression_set / "manifest.json").read_text())
    counts = manifest.counts
    assert counts["kept"] == before.counts["kept"] - 2 == 2 and counts["dropped_forgotten_user"] == 2
    assert counts["total"] == counts["kept"] + sum(n for k, n in counts.items() if k.startswith("dropped_"))
    assert counts["retrieval_cases"] == 1 and manifest.strata == {"account/support": 2}
    assert manifest.edited_at == NOW.isoformat() and manifest.created_at == before.created_at
    import hashlib
    assert manifest.files == {name: hashlib.sha256((regression_set / name).read_bytes()).hexdigest()
                              for name in ("cases.jsonl", "retrieval.jsonl")}
    again = forget_user_cases(regression_set, ALICE, NOW + timedelta(days=365))
    assert (again.cases, again.retrieval) == (0, 0)
    assert RegressionManifest.model_validate_json((regression_set / "manifest.json").read_text()) == manifest


def test_a_run_killed_between_the_file_and_the_manifest_is_repaired_by_the_next(regression_set: Path) -> None:
    original = (regression_set / "manifest.json").read_text()
    forget_user_cases(regression_set, ALICE, NOW)
    repaired = (regression_set / "manifest.json").read_text()
    (regression_set / "manifest.json").write_text(original)  # as if killed before the manifest was replaced
    assert forget_user_cases(regression_set, ALICE, NOW).cases == 0
    assert (regression_set / "manifest.json").read_text() == repaired
