"""Pins the presidio internals ``tasks.pii.presidio_adapter`` relies on: an upgrade that changes them fails here."""

from __future__ import annotations

import pytest
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from tasks.pii.analyzer import load_analyzer
from tasks.pii.engine import LANGUAGE
from tasks.pii.presidio_adapter import (
    ArtifactsWithoutLemmas,
    LemmasNeeded,
    doc_to_artifacts,
    findings_remembered,
    remembers_findings,
)

TEXT = "Maria Gonzalez lives in Madrid; call her on 212-555-0198."


def _key(artifacts: NlpArtifacts) -> tuple:
    return (
        [(e.label_, e.start_char, e.end_char) for e in artifacts.entities],
        [t.text for t in artifacts.tokens],
        list(artifacts.lemmas),
        list(artifacts.keywords),
    )


def test_doc_to_artifacts_gives_what_process_text_gives() -> None:
    engine = load_analyzer().nlp_engine
    doc = engine.nlp[LANGUAGE](TEXT)
    assert _key(doc_to_artifacts(engine, doc, LANGUAGE)) == _key(engine.process_text(TEXT, LANGUAGE))


def test_artifacts_keep_lemmas_and_keywords_as_instance_attributes() -> None:
    engine = load_analyzer().nlp_engine
    artifacts = engine.process_text(TEXT, LANGUAGE)
    assert {"lemmas", "keywords", "entities", "tokens"} <= set(vars(artifacts))
    held_back = ArtifactsWithoutLemmas(artifacts)
    assert [e.text for e in held_back.entities] == [e.text for e in artifacts.entities]
    with pytest.raises(LemmasNeeded):
        held_back.lemmas  # noqa: B018


def test_analyze_reads_lemmas_only_for_context_enhancement() -> None:
    """A text with no finding of a recognizer with context words is analysed without lemmas; a phone
    number (whose recognizer has context words) makes presidio read them."""
    analyzer = load_analyzer()
    engine = analyzer.nlp_engine
    plain = "Maria Gonzalez went home."
    artifacts = ArtifactsWithoutLemmas(engine.process_text(plain, LANGUAGE))
    found = analyzer.analyze(text=plain, language=LANGUAGE, entities=["PERSON"], nlp_artifacts=artifacts)
    assert [plain[r.start : r.end] for r in found] == ["Maria Gonzalez"]
    artifacts = ArtifactsWithoutLemmas(engine.process_text(TEXT, LANGUAGE))
    with pytest.raises(LemmasNeeded):
        analyzer.analyze(text=TEXT, language=LANGUAGE, entities=["PHONE_NUMBER"], nlp_artifacts=artifacts)


def test_analyze_calls_each_recognizers_analyze_attribute_by_keyword() -> None:
    analyzer = load_analyzer()
    [phone] = [r for r in analyzer.registry.recognizers if type(r).__name__ == "PhoneRecognizer"]
    assert remembers_findings(phone)
    calls: list[dict] = []
    real = phone.analyze

    def recording(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    phone.analyze = recording
    try:
        analyzer.analyze(text=TEXT, language=LANGUAGE, entities=["PHONE_NUMBER"])
    finally:
        del phone.analyze
    assert calls and {"text", "entities", "nlp_artifacts"} <= set(calls[0])


def test_base_enhance_using_context_leaves_findings_unchanged() -> None:
    result = RecognizerResult("PHONE_NUMBER", 0, 5, 0.4)
    recognizer = EntityRecognizer(supported_entities=["PHONE_NUMBER"], name="probe")
    out = recognizer.enhance_using_context(
        text="x", raw_recognizer_results=[result], other_raw_recognizer_results=[], nlp_artifacts=None
    )
    assert [(r.entity_type, r.start, r.end, r.score) for r in out] == [("PHONE_NUMBER", 0, 5, 0.4)]


def test_findings_remembered_memoises_and_restores() -> None:
    analyzer = load_analyzer()
    taking_part = [r for r in analyzer.registry.recognizers if remembers_findings(r)]
    assert taking_part
    with findings_remembered(analyzer.registry.recognizers):
        assert all("analyze" in vars(r) for r in taking_part)
        first = analyzer.analyze(text=TEXT, language=LANGUAGE, entities=["PHONE_NUMBER"])
        again = analyzer.analyze(text=TEXT, language=LANGUAGE, entities=["PHONE_NUMBER"])
        assert [(r.start, r.end, r.score) for r in first] == [(r.start, r.end, r.score) for r in again]
    assert all("analyze" not in vars(r) for r in analyzer.registry.recognizers)
