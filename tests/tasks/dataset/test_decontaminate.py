"""Decontamination: an example copying an evaluation item (exactly, nearly, or in its user turns) is dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.params import DatasetParams
from tasks.dataset.decontaminate import load_index, user_text, user_turn_keys
from tasks.dataset.dedupe import exact_key, minhash_signatures
from tasks.dataset.prefect_tasks import dedupe_text

QUESTION = "How do I rotate the signing secret of my webhook endpoint without downtime for the consumers?"
ANSWER = "Create a second secret, deploy consumers that accept both, then revoke the old one in settings."


def _example(user: str, assistant: str, line: int) -> ChatExample:
    return ChatExample(
        example_id=f"{line:064d}",
        messages=(ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content=user),
                  ChatMessage(role="assistant", content=assistant)),
        group_hash="0" * 64,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lineage=Lineage(request_id=f"r{line}", source="a.jsonl", line=line),
    )


def _decisions(examples: list[ChatExample], params: DatasetParams) -> list:
    index = load_index(params)
    texts = [dedupe_text(e, False) for e in examples]
    signatures = minhash_signatures(texts, params.dedupe.num_perm, params.dedupe.shingle_size)
    users = [user_text((m.role, m.content) for m in e.messages) for e in examples]
    user_keys, user_signatures = user_turn_keys(users, params.dedupe.num_perm, params.dedupe.shingle_size)
    return index.decide_all([exact_key(t) for t in texts], signatures, user_keys, user_signatures)


def test_copies_of_golden_cases_and_eval_queries_are_dropped(tmp_path: Path) -> None:
    golden = tmp_path / "regression" / "golden"
    golden.mkdir(parents=True)
    case = {"id": "c1", "messages": [{"role": "system", "content": "Other prompt."}, {"role": "user", "content": QUESTION}],
            "expected_output": ANSWER}
    (golden / "cases.jsonl").write_text(json.dumps(case) + "\n{broken\n")
    queries = tmp_path / "retrieval.jsonl"
    queries.write_text(json.dumps({"id": "q", "text": "LRK-429 rate_limited Retry-After", "relevant": ["a.md"]}) + "\n")
    params = DatasetParams.model_validate({"decontaminate": {
        "regression_root": str(tmp_path / "regression"), "retrieval_sets": [str(queries)]}})
    examples = [
        _example(QUESTION, ANSWER, 1),  # exact copy (system prompt differs: not compared)
        _example(QUESTION.upper(), ANSWER + " Thanks!", 2),  # lightly edited
        _example(QUESTION, "A different answer written independently of the golden one, at length.", 3),  # user turn
        _example("lrk-429 rate_limited retry-after", "It means you sent too many requests; wait and retry.", 4),
        _example("How do I reset my password?", "Open settings, choose security, then reset password.", 5),
    ]
    decisions = _decisions(examples, params)
    assert decisions == [(False, "contaminates_golden")] * 3 + [(False, "contaminates_retrieval"), (True, None)]


def test_no_sets_keep_everything(tmp_path: Path) -> None:
    params = DatasetParams.model_validate({"decontaminate": {"regression_root": str(tmp_path / "none"), "retrieval_sets": []}})
    assert _decisions([_example(QUESTION, ANSWER, 1)], params) == [(True, None)]
