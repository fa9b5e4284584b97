"""The one place that leans on presidio's private behaviour (pinned by tests/tasks/pii/test_presidio_adapter.py).

What we rely on, all of it presidio-analyzer 2.2.x internals:

* ``SpacyNlpEngine._doc_to_nlp_artifact(doc, language)`` turns an already processed spaCy ``Doc``
  into the ``NlpArtifacts`` that ``process_text`` / ``process_batch`` would give; it lets us run
  ``nlp.pipe`` ourselves (twice, with different components) and still hand presidio its artifacts.
* ``NlpArtifacts`` keeps ``lemmas`` and ``keywords`` as plain instance attributes, and
  ``AnalyzerEngine.analyze`` reads them only while enhancing a finding with context words.
* ``AnalyzerEngine.analyze`` calls ``recognizer.analyze(text=..., entities=..., nlp_artifacts=...)``
  on each recognizer object (an instance attribute shadows the method), and a recognizer that keeps
  ``EntityRecognizer.enhance_using_context`` leaves its findings unchanged there.

If an upgrade changes any of these, the adapter's tests fail before the redactor silently changes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator

from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from presidio_analyzer.predefined_recognizers import PhoneRecognizer
from spacy.tokens import Doc


def doc_to_artifacts(engine: NlpEngine, doc: Doc, language: str) -> NlpArtifacts:
    """presidio's own ``Doc -> NlpArtifacts`` conversion (what ``process_batch`` hands on)."""
    return engine._doc_to_nlp_artifact(doc, language)


class LemmasNeeded(Exception):
    """presidio read the lemmas of a text analysed before its lemmas were computed."""


class ArtifactsWithoutLemmas(NlpArtifacts):
    """A doc's ``NlpArtifacts`` before its lemmas exist: reading ``lemmas`` or ``keywords`` raises."""

    def __init__(self, artifacts: NlpArtifacts) -> None:
        self.__dict__.update({k: v for k, v in vars(artifacts).items() if k not in ("lemmas", "keywords")})

    @property
    def lemmas(self) -> list[str]:
        """Not computed yet."""
        raise LemmasNeeded

    @property
    def keywords(self) -> list[str]:
        """Not computed yet."""
        raise LemmasNeeded


def _remembering(analyze: Callable[..., list[RecognizerResult]]) -> Callable[..., list[RecognizerResult]]:
    """``analyze`` that returns its first findings again for the same text and entities."""
    kept: dict[tuple[str, tuple[str, ...]], list[RecognizerResult]] = {}

    @functools.wraps(analyze)
    def remembered(text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None, **kwargs):
        key = (text, tuple(entities))
        if key not in kept:
            kept[key] = analyze(text=text, entities=entities, nlp_artifacts=nlp_artifacts, **kwargs)
        return kept[key]

    return remembered


def remembers_findings(recognizer: EntityRecognizer) -> bool:
    """Whether ``findings_remembered`` may memoise this recognizer.

    Only presidio's pattern and phone recognizers: their findings depend on the text alone (they
    never read the NLP artifacts, so missing lemmas change nothing), and only those that keep
    presidio's own ``enhance_using_context`` (which changes nothing), so a kept finding is never
    boosted twice.
    """
    return (
        isinstance(recognizer, PatternRecognizer | PhoneRecognizer)
        and bool(recognizer.context)
        and type(recognizer).enhance_using_context is EntityRecognizer.enhance_using_context
    )


@contextlib.contextmanager
def findings_remembered(recognizers: Iterable[EntityRecognizer]) -> Iterator[None]:
    """Recognizers with context words give a text's second analysis the findings of its first."""
    taking_part = [r for r in recognizers if remembers_findings(r)]
    for recognizer in taking_part:
        recognizer.analyze = _remembering(recognizer.analyze)  # instance attribute, shadows the method
    try:
        yield
    finally:
        for recognizer in taking_part:
            del recognizer.analyze
