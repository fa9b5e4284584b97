"""Our recognizers: offline email validation and the gaps of presidio's defaults on real text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from tasks.pii.engine import LANGUAGE, OFFLINE_TLD, lemma_only_pipes


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's email recognizer, validating domains with tldextract's bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """True when the address has a registrable domain (no network)."""
        return OFFLINE_TLD(pattern_text).fqdn != ""


STREET_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
    "close|crescent|square|sq|parkway|pkwy|highway|hwy|alley|row|gardens|strasse|straße"
)


def street_address_recognizer() -> PatternRecognizer:
    """House number, one to four capitalised words and a street suffix, optionally unit, city, state, ZIP."""
    pattern = (
        r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){1,4}(?:" + STREET_SUFFIXES + r")\b\.?"
        r"(?:,?\s+(?:apt|apartment|suite|unit|flat|#)\.?\s*\w{1,5})?"
        r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?(?:,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"
    )
    return PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[Pattern("street address", pattern, 0.6)],
        context=["address", "live", "lives", "ship", "deliver", "street", "located"],
    )


def international_phone_recognizer() -> PatternRecognizer:
    """Numbers with a ``+`` country code and digit groups, and ``(NNN) NNN-NNNN`` whatever the area code."""
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="InternationalPhoneRecognizer",
        patterns=[
            Pattern("intl phone", r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w])", 0.7),
            Pattern("north american phone", r"(?<![\w(])\(\d{3}\)[ ]?\d{3}[-. ]\d{4}\b", 0.6),
        ],
        context=["phone", "call", "mobile", "tel", "whatsapp", "number"],
    )


def introduced_name_recognizer() -> PatternRecognizer:
    """Two or three capitalised words right after an introduction ("my name is", "spoke with", "regards,")."""
    cue = r"(?i:my name is|name's|i am|i'm|this is|spoke with|talked to|regards,|thanks,|cheers,|sincerely,)"
    # presidio compiles with the ``regex`` module: variable-length look-behind and scoped flags work.
    pattern = r"(?<=\b" + cue + r"\s{1,3})(?-i:[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2})\b"
    return PatternRecognizer(
        supported_entity="PERSON",
        name="IntroducedNameRecognizer",
        patterns=[Pattern("introduced name", pattern, 0.6)],
    )


class CapitalisedNameRecognizer(EntityRecognizer):
    """Names written in capitals (``JOHN SMITH``), which spaCy's small model does not tag.

    Runs of two or three all-capital words are title-cased in a copy of the text (same length,
    so offsets hold) and spaCy's NER is run on that copy (the components the entities depend on,
    not the lemma-only ones); a PERSON inside a run is reported.
    """

    _RUN = re.compile(r"\b[A-Z][A-Z'-]+(?:\s+[A-Z][A-Z'-]+){1,2}\b")

    def __init__(self, nlp) -> None:
        self._nlp = nlp
        self._primed: dict[str, list[tuple[str, int, int]]] = {}
        super().__init__(supported_entities=["PERSON"], name="CapitalisedNameRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: the spaCy pipeline is shared with the NLP engine."""

    def _cased(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        runs = [m.span() for m in self._RUN.finditer(text)]
        cased = list(text)
        for start, end in runs:
            cased[start:end] = text[start:end].title()
        return "".join(cased), runs

    def prime(self, texts: Iterable[str], batch_size: int) -> None:
        """Run spaCy over the title-cased copies of ``texts`` in ``nlp.pipe`` batches, for ``analyze``."""
        copies = list(dict.fromkeys(c for c, runs in map(self._cased, texts) if runs))
        docs = self._nlp.pipe(copies, batch_size=batch_size, disable=lemma_only_pipes(self._nlp))
        for copy, doc in zip(copies, docs, strict=True):
            self._primed[copy] = [(e.label_, e.start_char, e.end_char) for e in doc.ents]

    def unprime(self) -> None:
        """Forget what ``prime`` computed."""
        self._primed.clear()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON findings inside runs of capitalised words."""
        if "PERSON" not in entities:
            return []
        cased, runs = self._cased(text)
        if not runs:
            return []
        ents = self._primed.get(cased)
        if ents is None:
            doc = self._nlp(cased, disable=lemma_only_pipes(self._nlp))
            ents = [(e.label_, e.start_char, e.end_char) for e in doc.ents]
        return [
            RecognizerResult("PERSON", start, end, 0.7)
            for label, start, end in ents
            if label == "PERSON" and any(s <= start and end <= e for s, e in runs)
        ]


