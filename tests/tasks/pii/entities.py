"""NER output given by hand: the entity spans a recognizer that reads ``nlp_artifacts.entities`` sees."""

from __future__ import annotations


class Entity:
    """One span as spaCy gives it: text, character offsets and label."""

    def __init__(self, text: str, start: int, label: str) -> None:
        self.text, self.start_char, self.end_char, self.label_ = text, start, start + len(text), label


class Artifacts:
    """The ``entities`` of an NLP pass over ``text``: each ``(span, label)`` at its first occurrence."""

    def __init__(self, text: str, spans: list[tuple[str, str]]) -> None:
        self.entities = [Entity(t, text.index(t), label) for t, label in spans]
