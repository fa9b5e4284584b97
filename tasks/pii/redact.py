"""Redact chat examples and plain strings with presidio: the entry points callers import.

The package, one concern a module:

* ``engine``: presidio's spaCy engine on the installed model, tldextract that never fetches;
* ``recognizers``: our recognizers (offline email, street addresses, phones, names, ...);
* ``names``: which NER PERSON findings can be a name, particle surnames, lower-case cued names;
* ``analyzer``: the registry assembled, one analyzer per process;
* ``presidio_adapter``: the only module using presidio's private behaviour (pinned by a test);
* ``batched``: the two-pass ``nlp.pipe`` path (entities first, lemmas only where read);
* ``pool``: worker processes for large inputs;
* ``placeholders``: ``<PERSON_1>``-style placeholders consistent within an example;
* ``echoes``: a value found once redacted wherever it recurs in the example.

Placeholders are numbered per example: the same value is ``<PERSON_1>`` in every message of one
example. The names below that other modules define are re-exported so callers keep importing
``tasks.pii.redact``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from presidio_analyzer import RecognizerResult

from schemas.dataset import ChatExample, ChatMessage
from schemas.params import RedactParams
from tasks.dataset.extract import content_id
from tasks.pii.analyzer import build_analyzer, load_analyzer
from tasks.pii.echoes import with_echoes
from tasks.pii.engine import LANGUAGE, OFFLINE_TLD, SPACY_MODEL, entity_pipes, lemma_only_pipes
from tasks.pii.placeholders import PlaceholderBook, load_anonymizer, redact_text
from tasks.pii.pool import FORK_MIN_TEXTS, PARALLEL_MIN_TEXTS, analyze_texts, can_fork
from tasks.pii.recognizers import CapitalisedNameRecognizer, GazetteerNameRecognizer, OfflineEmailRecognizer

_OFFLINE_TLD = OFFLINE_TLD
_can_fork = can_fork

__all__ = [
    "FORK_MIN_TEXTS",
    "LANGUAGE",
    "PARALLEL_MIN_TEXTS",
    "SPACY_MODEL",
    "CapitalisedNameRecognizer",
    "OfflineEmailRecognizer",
    "PlaceholderBook",
    "RedactionOutcome",
    "analyze_texts",
    "build_analyzer",
    "entity_pipes",
    "lemma_only_pipes",
    "load_analyzer",
    "load_anonymizer",
    "redact_examples",
    "redact_strings",
    "redact_text",
]


@dataclass(frozen=True)
class RedactionOutcome:
    """Redacted examples and the PII found, by type."""

    examples: list[ChatExample]
    pii_counts: Counter[str]


def common_words(params: RedactParams) -> frozenset[str]:
    """The English words the analyzer's name gazetteer skips, never echoed alone (empty without it)."""
    for recognizer in load_analyzer(params.skip_parser).registry.recognizers:
        if isinstance(recognizer, GazetteerNameRecognizer):
            return recognizer.english
    return frozenset()


def _message_texts(message: ChatMessage) -> list[str]:
    texts = [message.content] if message.content else []
    for call in message.tool_calls or []:
        arguments = (call.get("function") or {}).get("arguments")
        if isinstance(arguments, str) and arguments:
            texts.append(arguments)
    return texts


def _redact_message(
    message: ChatMessage, findings: dict[str, list[RecognizerResult]], book: PlaceholderBook
) -> ChatMessage:
    content = (
        redact_text(message.content, findings.get(message.content, []), book) if message.content else message.content
    )
    tool_calls = None
    if message.tool_calls:
        tool_calls = []
        for call in message.tool_calls:
            function = dict(call.get("function") or {})
            arguments = function.get("arguments")
            if isinstance(arguments, str) and arguments:
                function["arguments"] = redact_text(arguments, findings.get(arguments, []), book)
            tool_calls.append({**call, "function": function} if "function" in call else dict(call))
    name = message.name
    if name and message.role != "tool":  # a participant's name (a tool message's name is the function's)
        name = book.placeholder("PERSON", name).strip("<>")  # PERSON_1: OpenAI names allow [A-Za-z0-9_-] only
    return message.model_copy(update={"content": content, "tool_calls": tool_calls, "name": name})


def redact_examples(examples: Iterable[ChatExample], params: RedactParams) -> RedactionOutcome:
    """Redact every message (content, tool-call arguments, a participant's ``name``) of each example.

    A value found in one message is also redacted where it recurs in the example's other messages
    (``tasks.pii.echoes``).

    Args:
        examples: Examples with raw text.
        params: The redaction params.

    Returns:
        New examples (content ids recomputed over the redacted text) and PII counts by type.
    """
    examples = list(examples)
    texts = [t for ex in examples for m in ex.messages for t in _message_texts(m)]
    findings = analyze_texts(texts, params)
    common = common_words(params)
    redacted: list[ChatExample] = []
    totals: Counter[str] = Counter()
    for example in examples:
        book = PlaceholderBook()
        local = with_echoes([t for m in example.messages for t in _message_texts(m)], findings, common)
        messages = tuple(_redact_message(m, local, book) for m in example.messages)
        totals.update(book.found)
        redacted.append(
            example.model_copy(
                update={
                    "messages": messages,
                    "example_id": content_id([m.to_openai() for m in messages], example.tools),
                    "pii_counts": dict(sorted(book.found.items())),
                }
            )
        )
    return RedactionOutcome(examples=redacted, pii_counts=totals)


def redact_strings(values: Sequence[str], params: RedactParams) -> tuple[list[str], Counter[str]]:
    """Redact independent strings (one placeholder book each), for the generic ``redact`` command."""
    findings = analyze_texts(values, params)
    common = common_words(params)
    out: list[str] = []
    totals: Counter[str] = Counter()
    for value in values:
        book = PlaceholderBook()
        local = with_echoes([value], findings, common) if value else {}
        out.append(redact_text(value, local.get(value, []), book) if value else value)
        totals.update(book.found)
    return out, totals
