"""The fast path: ``nlp.pipe`` over distinct texts, entities first, lemmas only where presidio reads them.

presidio reads lemmas only to look for context words around a finding of a recognizer that has
context words, so the components that only feed lemmas (tok2vec, tagger, attribute ruler,
lemmatizer: about 40% of spaCy's time; the NER has its own tok2vec) run afterwards, batched, over
just the texts whose analysis asked for lemmas. The findings are the ones a per-text ``analyze``
call gives. presidio's private parts this needs sit in ``tasks.pii.presidio_adapter``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from spacy.tokens import Doc

from schemas.params import RedactParams
from tasks.pii.analyzer import load_analyzer
from tasks.pii.engine import LANGUAGE, entity_pipes, lemma_only_pipes
from tasks.pii.presidio_adapter import ArtifactsWithoutLemmas, LemmasNeeded, doc_to_artifacts, findings_remembered
from tasks.pii.recognizers import CapitalisedNameRecognizer

PRIME_CHUNK = 4_096
"""Texts per chunk: the title-cased copies primed for the capitalised-name recognizer stay few."""
ANALYSIS_LOCK = threading.Lock()
"""One analysis at a time in a process: the shared analyzer's recognizers are primed and memoised per chunk."""


def analyze_kwargs(params: RedactParams) -> dict:
    """The keyword arguments of ``AnalyzerEngine.analyze`` these params give."""
    return dict(
        language=LANGUAGE,
        entities=list(params.entities),
        score_threshold=params.score_threshold,
        allow_list=list(params.allow_list) or None,
    )


def analyze_chunk(analyzer: AnalyzerEngine, chunk: list[str], params: RedactParams) -> dict[str, list[RecognizerResult]]:
    """Entities first (``nlp.pipe`` without the lemma-only components), lemmas only for texts that read them.

    A text whose analysis reads no lemma (no finding of a recognizer with context words) is done
    after the first pass; the others get the lemma-only components, batched, and are analysed
    again with the recognizers' first findings (the context enhancement and what follows re-run).
    """
    nlp, engine, kwargs = analyzer.nlp_engine.nlp[LANGUAGE], analyzer.nlp_engine, analyze_kwargs(params)
    findings: dict[str, list[RecognizerResult]] = {}
    pending: list[tuple[str, Doc]] = []
    with findings_remembered(analyzer.registry.recognizers):
        docs = nlp.pipe(chunk, batch_size=params.batch_size, disable=lemma_only_pipes(nlp))
        for text, doc in zip(chunk, docs, strict=True):
            artifacts = ArtifactsWithoutLemmas(doc_to_artifacts(engine, doc, LANGUAGE))
            try:
                findings[text] = analyzer.analyze(text=text, nlp_artifacts=artifacts, **kwargs)
            except LemmasNeeded:
                pending.append((text, doc))
        docs = nlp.pipe((doc for _, doc in pending), batch_size=params.batch_size, disable=entity_pipes(nlp))
        for (text, _), doc in zip(pending, docs, strict=True):
            findings[text] = analyzer.analyze(text=text, nlp_artifacts=doc_to_artifacts(engine, doc, LANGUAGE), **kwargs)
    return findings


def analyze_unique(unique: Sequence[str], params: RedactParams) -> dict[str, list[RecognizerResult]]:
    """Findings of distinct texts, in this process, spaCy run over them with ``nlp.pipe``."""
    analyzer = load_analyzer(params.skip_parser)
    findings: dict[str, list[RecognizerResult]] = {}
    capitalised = [r for r in analyzer.registry.recognizers if isinstance(r, CapitalisedNameRecognizer)]
    with ANALYSIS_LOCK:
        for start in range(0, len(unique), PRIME_CHUNK):
            chunk = list(unique[start : start + PRIME_CHUNK])
            for recognizer in capitalised:
                if "PERSON" in params.entities:
                    recognizer.prime(chunk, params.batch_size)
            try:
                findings.update(analyze_chunk(analyzer, chunk, params))
            finally:
                for recognizer in capitalised:
                    recognizer.unprime()
    return findings


def analyze_one_by_one(unique: Sequence[str], params: RedactParams) -> dict[str, list[RecognizerResult]]:
    """Findings of distinct texts, one plain ``analyze`` call each (the reference the fast path matches)."""
    analyzer = load_analyzer(params.skip_parser)
    with ANALYSIS_LOCK:
        return {text: analyzer.analyze(text=text, **analyze_kwargs(params)) for text in unique}
