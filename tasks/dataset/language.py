"""The language of an example: langid.py's classifier (the ``py3langid`` fork), its model inside the package.

The text classified is the conversation's user and assistant turns (system prompts left out: a
product's shared prompt says nothing of the user's language). A short or mixed text the model is
not sure of gets ``und`` (undetermined, the ISO 639-2 code) rather than a guess: at 0.5 normalised
probability "ok" or "hola" are ``und`` and "How do I reset my password?" is ``en``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

UNDETERMINED = "und"
MIN_PROBABILITY = 0.5
_MAX_CHARS = 2_000
"""Characters classified (the start of the text): enough for the language, bounded cost."""


@functools.cache
def _identifier():  # noqa: ANN202 - py3langid ships no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language, or ``und`` below ``MIN_PROBABILITY`` or without letters."""
    text = text[:_MAX_CHARS]
    if not any(c.isalpha() for c in text):
        return UNDETERMINED
    code, probability = _identifier().classify(text)
    return code if probability >= MIN_PROBABILITY else UNDETERMINED


def conversation_language(turns: Iterable[tuple[str, str | None]]) -> str:
    """The language of the user and assistant turns of ``(role, content)`` pairs."""
    return detect_language("\n".join(content for role, content in turns if role in ("user", "assistant") and content))
