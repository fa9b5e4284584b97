"""Echoes: a value found once is redacted wherever else it occurs in the same example or record.

A name introduced with a cue ("my name is Rubija Hasanović") is often repeated without one
("thanks Rubija", "Luíz's project"); the recognizers see each text alone and can miss the repeat.
Every finding's value, and each word of a PERSON finding that is not a common word, is looked
for again (whole words, ignoring case) in all the texts of the example or record; a PERSON echo
takes in up to two capitalised words after it that are not common words ("Siobhán" found in
"Thanks Siobhán!" covers "Siobhán Ní Bhriain" in the user's message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from tasks.pii.recognizers import COMMON_WORDS, MONTHS_AND_DAYS

ECHO_SCORE = 0.5
_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}")
MIN_ECHO_CHARS = 3


def echo_values(texts: Iterable[str], findings: Mapping[str, list[RecognizerResult]],
                common: frozenset[str] = frozenset()) -> dict[str, str]:
    """``value -> entity type`` of what was found in ``texts``, PERSON findings also word by word.

    Args:
        texts: The texts of one example or record.
        findings: ``text -> findings``.
        common: Lower-case words never echoed on their own (besides stop words, months, days).
    """
    values: dict[str, str] = {}
    for text in texts:
        for f in findings.get(text, []):
            value = text[f.start : f.end].strip()
            if len(value) >= MIN_ECHO_CHARS:
                values.setdefault(value.casefold(), f.entity_type)
            if f.entity_type != "PERSON":
                continue
            for word in _WORD.findall(value):
                if not word[0].isupper():
                    continue
                folded = word.casefold().strip("'’-")
                if folded not in STOP_WORDS and folded not in COMMON_WORDS and folded not in MONTHS_AND_DAYS \
                        and folded not in common and len(folded) >= MIN_ECHO_CHARS:
                    values.setdefault(word.casefold(), "PERSON")
    return values


def _pattern(values: Iterable[str]) -> re.Pattern | None:
    ordered = sorted(set(values), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<![\w@.])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w@])", re.IGNORECASE)


_NEXT_NAME_WORD = re.compile(r"[ ]([^\W\d_][\w'’-]*)")


def _name_end(text: str, end: int, common: frozenset[str]) -> int:
    """Where a name echoed at ``text[..end]`` ends: up to two more capitalised words that are not common."""
    for _ in range(2):
        m = _NEXT_NAME_WORD.match(text, end)
        folded = m.group(1).casefold().strip("'’-") if m else ""
        if not m or not m.group(1)[0].isupper() or folded in STOP_WORDS or folded in COMMON_WORDS or folded in common:
            break
        end = m.end()
    return end


def with_echoes(texts: Sequence[str], findings: Mapping[str, list[RecognizerResult]],
                common: frozenset[str] = frozenset()) -> dict[str, list[RecognizerResult]]:
    """Findings of ``texts`` plus a finding at every other occurrence of a value found in any of them.

    Args:
        texts: The texts of one example or record (repeats allowed).
        findings: ``text -> findings`` from the analyzer (not changed).
        common: Lower-case words never echoed on their own.

    Returns:
        ``text -> findings`` for the distinct texts of ``texts``; an occurrence already inside a
        finding adds nothing.
    """
    distinct = list(dict.fromkeys(t for t in texts if t))
    values = echo_values(distinct, findings, common)
    pattern = _pattern(values)
    out: dict[str, list[RecognizerResult]] = {}
    for text in distinct:
        found = list(findings.get(text, []))
        if pattern is not None:
            for m in pattern.finditer(text):
                if any(f.start <= m.start() and m.end() <= f.end for f in found):
                    continue
                kind = values.get(m.group().casefold(), "PERSON")
                end = _name_end(text, m.end(), common) if kind == "PERSON" else m.end()
                found.append(RecognizerResult(kind, m.start(), end, ECHO_SCORE))
        out[text] = found
    return out
