"""Selection params (quality, feedback, models, dates, forgotten users) and log-to-chat extraction."""

from __future__ import annotations

import json

from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams, SelectParams
from tasks.dataset.extract import log_to_example
from tasks.dataset.language import UNDETERMINED, detect_language
from tasks.dataset.select import cap_per_user, log_language, select_log, user_hash
from tools.synthetic_logs import generate_logs

BASE = json.loads(generate_logs(1, seed=2, bad_rate=0, duplicate_rate=0, near_duplicate_rate=0).lines[0])


def _log(**update) -> LLMInteractionLog:
    return LLMInteractionLog.model_validate_json(json.dumps({**BASE, **update}))


def _why(log: LLMInteractionLog, denied: frozenset[str] = frozenset(), **params) -> str | None:
    keep, reason = select_log(log, SelectParams(**params), denied, "salt")
    assert keep == (reason is None)
    return reason


def test_selection_reasons() -> None:
    log = _log(automated_quality_score=0.5, user_feedback=None, model="gpt-4o", timestamp="2026-03-01T12:00:00Z")
    assert _why(log) is None
    assert _why(log, min_quality_score=0.6) == "low_quality"
    assert _why(_log(automated_quality_score=None), drop_unscored=True) == "unscored"
    assert _why(_log(user_feedback="thumbs_down")) == "negative_feedback"
    assert _why(log, models=["claude-3-5-haiku"]) == "model_not_allowed"
    assert _why(log, since="2026-03-02") == "before_date_range"
    assert _why(log, until="2026-03-01T12:00:00+00:00") == "after_date_range"
    assert _why(log, since="2026-03-01", until="2026-03-02") is None
    assert _why(_log(user_id="u-1"), frozenset({user_hash("u-1", "salt")})) == "forgotten_user"


def test_extraction_orders_messages_and_keeps_lineage() -> None:
    history = [{"role": "user", "content": "Earlier question"}, {"role": "assistant", "content": "Earlier answer."}]
    example = log_to_example(_log(conversation_history=history, category=None), "a.jsonl", 3, DatasetParams())
    assert [m.role for m in example.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert example.messages[-1].content == BASE["response"] and example.messages[-2].content == BASE["user_message"]
    assert example.category == "uncategorized"
    assert (example.lineage.source, example.lineage.line, example.lineage.request_id) == (
        "a.jsonl",
        3,
        BASE["request_id"],
    )
    assert example.user_hash != BASE["user_id"] and BASE["user_id"] not in example.model_dump_json()


def test_tool_call_reply_has_no_content_and_the_group_falls_back_to_the_request() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}
    params = DatasetParams()
    example = log_to_example(
        _log(response="", tool_calls=[call], tools=[{"type": "function"}], user_id=None), "a", 1, params
    )
    assert example.messages[-1].content is None and example.messages[-1].tool_calls == [call]
    assert example.to_openai()["tools"] == [{"type": "function"}]
    same_request = log_to_example(_log(user_id=None, response="Another reply here."), "a", 2, params)
    assert same_request.group_hash == example.group_hash and example.user_hash is None


def test_language_selection_reads_the_conversation() -> None:
    french = _log(user_message="Bonjour, je n'arrive pas à modifier l'adresse de livraison de ma commande.",
                  response="Vous pouvez la modifier depuis la page de suivi de la commande, avant l'expédition.",
                  conversation_history=[])
    assert log_language(french) == "fr"
    assert _why(french, languages=["fr", "de"]) is None
    assert _why(french, languages=["en"]) == "language_not_selected"
    assert _why(french) is None  # no language selection: every language is kept


def test_language_detection_abstains_when_unsure() -> None:
    assert detect_language("Wie kann ich mein Passwort ändern, wenn ich die E-Mail nicht mehr habe?") == "de"
    assert detect_language("Can you summarise the refund policy for customers in the EU?") == "en"
    for unsure in ("ok", "12345", "", "hola"):
        assert detect_language(unsure) == UNDETERMINED


def test_the_cap_per_user_keeps_each_users_best() -> None:
    users = ["a", "a", "b", "a", None, None, "a"]
    scores = [0.1, 0.9, 0.5, 0.7, 0.2, 0.3, 0.9]
    rank = lambda i: (-scores[i], -i)  # noqa: E731 - best score first, then the later (newer) one
    kept, over = cap_per_user(range(7), users, rank, cap=2)
    assert kept == [1, 2, 4, 5, 6] and over == [0, 3]  # "a" keeps 6 and 1 (0.9 each); no user id is never capped
    assert cap_per_user(range(7), users, rank, cap=4) == (list(range(7)), [])
