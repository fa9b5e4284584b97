"""Consistent placeholders: the same value is ``<PERSON_1>`` everywhere in one example."""

from __future__ import annotations

import functools
from collections import Counter

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig


class PlaceholderBook:
    """Numbers the values of one example: the same value gets the same placeholder everywhere."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], int] = {}
        self._per_type: Counter[str] = Counter()
        self.found: Counter[str] = Counter()

    def placeholder(self, entity_type: str, value: str) -> str:
        """``<TYPE_n>`` for this value (normalised for case and spacing)."""
        key = (entity_type, " ".join(value.casefold().split()))
        if key not in self._numbers:
            self._per_type[entity_type] += 1
            self._numbers[key] = self._per_type[entity_type]
        self.found[entity_type] += 1
        return f"<{entity_type}_{self._numbers[key]}>"


@functools.cache
def load_anonymizer() -> AnonymizerEngine:
    """presidio's anonymizer, built once per process."""
    return AnonymizerEngine()


def redact_text(text: str, findings: list[RecognizerResult], book: PlaceholderBook) -> str:
    """Replace each finding with its placeholder (presidio's anonymizer resolves overlaps)."""
    if not findings:
        return text
    operators = {
        f.entity_type: OperatorConfig("custom", {"lambda": functools.partial(book.placeholder, f.entity_type)})
        for f in findings
    }
    return load_anonymizer().anonymize(text=text, analyzer_results=findings, operators=operators).text
