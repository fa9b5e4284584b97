"""presidio redaction: offline recognizers, recall on a labelled set, consistent placeholders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from cli.app import make_app
from cli.dataset import COMMANDS
from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.params import RedactParams
from tasks.pii.redact import (
    OfflineEmailRecognizer,
    analyze_texts,
    build_analyzer,
    lemma_only_pipes,
    load_analyzer,
    redact_examples,
)
from tools.synthetic_logs import labelled_pii_texts

PARAMS = RedactParams()


def _example(*contents: tuple[str, str]) -> ChatExample:
    return ChatExample(
        example_id="x",
        messages=tuple(ChatMessage(role=r, content=c) for r, c in contents),
        group_hash="g",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lineage=Lineage(request_id="r", source="a.jsonl", line=1),
    )


def test_load_analyzer_builds_one_analyzer_a_parser_setting() -> None:
    """Regression: ``functools.cache`` keyed ``load_analyzer()`` and ``load_analyzer(True)`` apart,
    so a second spaCy pipeline was loaded for the same setting."""
    assert load_analyzer() is load_analyzer(True) is load_analyzer(skip_parser=True)


def test_email_recognizer_never_fetches_the_suffix_list() -> None:
    recognizers = load_analyzer().registry.recognizers
    emails = [r for r in recognizers if "EMAIL_ADDRESS" in r.supported_entities]
    assert [type(r) for r in emails] == [OfflineEmailRecognizer]
    from tasks.pii.redact import _OFFLINE_TLD

    assert _OFFLINE_TLD.suffix_list_urls == () and _OFFLINE_TLD.fallback_to_snapshot


def test_added_recognizers_catch_known_presidio_gaps() -> None:
    texts = {
        "Please ship it to 221 Baker Street, London.": ("STREET_ADDRESS", "221 Baker Street, London"),
        "My mobile is +44 20 7946 0958.": ("PHONE_NUMBER", "+44 20 7946 0958"),
        "Regards, MARIA GONZALEZ": ("PERSON", "MARIA GONZALEZ"),
        "My name is Olivia Young.": ("PERSON", "Olivia Young"),
    }
    findings = analyze_texts(list(texts), PARAMS)
    for text, (entity, value) in texts.items():
        spans = {(f.entity_type, text[f.start : f.end]) for f in findings[text]}
        assert (entity, value) in spans, (text, spans)


def test_recall_and_over_redaction_on_labelled_set() -> None:
    labelled = labelled_pii_texts(120, seed=5)
    findings = analyze_texts([t.text for t in labelled], PARAMS)
    planted = caught = found = spurious = 0
    for item in labelled:
        results = findings[item.text]
        for span in item.spans:
            planted += 1
            caught += any(r.start <= span.start and span.end <= r.end for r in results)
        for r in results:
            found += 1
            spurious += not any(r.start < s.end and s.start < r.end for s in item.spans)
    assert planted > 50
    assert caught / planted >= 0.97
    assert spurious / found <= 0.05


def test_batched_analysis_gives_the_per_text_findings() -> None:
    texts = [t.text for t in labelled_pii_texts(30, seed=9)]
    key = lambda rs: sorted((r.entity_type, r.start, r.end, round(r.score, 3)) for r in rs)  # noqa: E731
    batched, single = analyze_texts(texts, PARAMS), analyze_texts(texts, PARAMS, batched=False)
    assert {t: key(r) for t, r in batched.items()} == {t: key(r) for t, r in single.items()}
    in_workers = analyze_texts(texts, RedactParams(workers=2))
    assert {t: key(r) for t, r in in_workers.items()} == {t: key(r) for t, r in single.items()}


def test_parser_setting_and_its_effect_on_a_sample() -> None:
    """Skipping the parser keeps presidio's findings on this sample; with skip_parser=False the
    pipeline is presidio's plain one. (Measured: 1 text in 6,000 differs, a longer PERSON span.)"""
    texts = [t.text for t in labelled_pii_texts(40, seed=13)]
    full = build_analyzer(skip_parser=False)
    assert "parser" in full.nlp_engine.nlp["en"].pipe_names
    assert "parser" not in load_analyzer(True).nlp_engine.nlp["en"].pipe_names

    def key(rs):
        return sorted((r.entity_type, r.start, r.end, round(r.score, 3)) for r in rs)

    kwargs = dict(language="en", entities=list(PARAMS.entities), score_threshold=PARAMS.score_threshold)
    plain = {t: key(full.analyze(text=t, **kwargs)) for t in texts}
    assert {t: key(r) for t, r in analyze_texts(texts, PARAMS).items()} == plain
    assert {t: key(r) for t, r in analyze_texts(texts, RedactParams(skip_parser=False)).items()} == plain


def test_lemma_components_run_only_for_texts_whose_analysis_reads_lemmas(monkeypatch) -> None:
    """Texts with no finding of a recognizer that has context words skip tok2vec, tagger, attribute
    ruler and lemmatizer; the others get them in a second batched pass. Findings stay presidio's."""
    lemma_only = lemma_only_pipes(load_analyzer().nlp_engine.nlp["en"])
    assert lemma_only == ["tok2vec", "tagger", "attribute_ruler", "lemmatizer"]
    # with the parser on, tok2vec feeds it (and the parser's sentence boundaries feed the NER)
    assert lemma_only_pipes(build_analyzer(skip_parser=False).nlp_engine.nlp["en"]) == [
        "tagger", "attribute_ruler", "lemmatizer"
    ]
    texts = [t.text for t in labelled_pii_texts(40, seed=17)]
    texts += ["Nothing personal in this one.", "My phone number is +44 20 7946 0958, JOHN SMITH."]
    analyzer = load_analyzer()
    nlp = analyzer.nlp_engine.nlp["en"]
    real_pipe, runs = nlp.pipe, []

    def recording_pipe(docs, **kwargs):
        docs = list(docs)
        runs.append((kwargs.get("disable"), len(docs)))
        return real_pipe(docs, **kwargs)

    monkeypatch.setattr(nlp, "pipe", recording_pipe)
    key = lambda rs: sorted((r.entity_type, r.start, r.end, round(r.score, 3)) for r in rs)  # noqa: E731
    batched = {t: key(r) for t, r in analyze_texts(texts, RedactParams(workers=1)).items()}
    [lemma_pass] = [n for disable, n in runs if "lemmatizer" not in disable]
    assert 0 < lemma_pass < len(texts)
    assert all("analyze" not in vars(r) for r in analyzer.registry.recognizers)  # the memo is gone
    assert batched == {t: key(r) for t, r in analyze_texts(texts, PARAMS, batched=False).items()}


def test_placeholders_are_consistent_within_an_example() -> None:
    example = _example(
        ("user", "My name is Priya Patel, email priya.patel@example.com."),
        ("assistant", "Thanks Priya Patel, we wrote to priya.patel@example.com and to bob.jones@example.org."),
    )
    [redacted] = redact_examples([example], PARAMS).examples
    user, assistant = (m.content for m in redacted.messages)
    assert "Priya" not in user + assistant and "example.com" not in user + assistant
    assert "<PERSON_1>" in user and "<PERSON_1>" in assistant
    assert "<EMAIL_ADDRESS_1>" in user and "<EMAIL_ADDRESS_1>" in assistant and "<EMAIL_ADDRESS_2>" in assistant
    assert redacted.example_id != example.example_id and redacted.pii_counts["EMAIL_ADDRESS"] == 3


def test_a_participant_name_is_replaced_and_a_tool_name_kept() -> None:
    """Regression: a message's ``name`` (OpenAI's participant name) reached the dataset unredacted."""
    example = _example(("user", "Hi, this is Priya Patel again."), ("assistant", "Hello Priya Patel, how can I help?"))
    messages = (
        example.messages[0].model_copy(update={"name": "Priya Patel"}),
        ChatMessage(role="tool", content="42", name="get_balance", tool_call_id="c1"),
        example.messages[1],
    )
    [redacted] = redact_examples([example.model_copy(update={"messages": messages})], PARAMS).examples
    user, tool, assistant = redacted.messages
    assert user.name == "PERSON_1" and "<PERSON_1>" in user.content and "<PERSON_1>" in assistant.content
    assert tool.name == "get_balance"


def test_redact_command_keeps_other_fields_and_order(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "text": "Call Maria Gonzalez on +33 1 42 68 53 00.", "keep": "Maria"},
        {"id": 2, "text": "Nothing personal here, just a question about invoices."},
        {"id": 3, "other": "no text field"},
    ]
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken Maria Gonzalez\n")
    app = make_app(COMMANDS)
    result = CliRunner().invoke(app, ["redact", "--in", str(src), "--out", str(dst), "--field", "text"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [r.get("id") for r in out] == [1, 2, 3, None]
    assert out[0]["text"] == "Call <PERSON_1> on <PHONE_NUMBER_1>." and out[0]["keep"] == "Maria"
    assert out[1] == rows[1] and out[2] == rows[2]
    assert out[3] == {"_redact_error": "invalid_json", "_line": 4}


def test_workers_fork_only_when_no_other_thread_runs(monkeypatch) -> None:
    """Forked workers (single-threaded caller) and spawned ones give the same findings."""
    import threading

    from tasks.pii import redact

    texts = [t.text for t in labelled_pii_texts(12, seed=21)]
    key = lambda rs: sorted((r.entity_type, r.start, r.end, round(r.score, 3)) for r in rs)  # noqa: E731
    single = {t: key(r) for t, r in analyze_texts(texts, PARAMS).items()}
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert redact._can_fork()
    assert {t: key(r) for t, r in analyze_texts(texts, RedactParams(workers=2)).items()} == single
    monkeypatch.setattr(threading, "active_count", lambda: 3)
    assert not redact._can_fork()
