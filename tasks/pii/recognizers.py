"""Our recognizers: offline email validation and the gaps of presidio's defaults on real text."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from tasks.pii.engine import LANGUAGE, OFFLINE_TLD, lemma_only_pipes
from tasks.pii.names import inflected_english


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's email recognizer, validating domains with tldextract's bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """True when the address has a registrable domain (no network)."""
        return OFFLINE_TLD(pattern_text).fqdn != ""


STREET_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
    "close|crescent|square|sq|parkway|pkwy|highway|hwy|alley|row|gardens|strasse|straße|trail|grove|view|hill|"
    "green|walk|mews|rise|heights|circle|cir|trace|loop|pike|crossing|ridge|parade|esplanade|quay|broadway|park"
)


def street_address_recognizer() -> PatternRecognizer:
    """House number, one to four capitalised words and a street suffix (US and UK ones: Road, Lane, Trail,
    Grove, Mews, ...), optionally unit, city, state, ZIP; or the number after the street (``Dot Road 131``)."""
    pattern = (
        r"\b\d{1,5}[A-Za-z]?\s+(?:(?-i:[A-Z])[\w'.-]*\s+){1,4}(?:" + STREET_SUFFIXES + r")\b\.?"
        r"(?:,?\s+(?:apt|apartment|suite|unit|flat|#)\.?\s*\w{1,5})?"
        r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?(?:,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"
    )
    # presidio matches with IGNORECASE: the street's words are capitalised with it off.
    word = r"(?-i:[A-Z])[\w'.-]*\s+"
    not_a_stop_word = r"(?!(?i:we|i|you|the|a|an|our|my|and|to|at|on|in|via|by|of|for)\s)"
    number_after = r"\b" + not_a_stop_word + r"(?:" + word + r"){1,3}(?:" + STREET_SUFFIXES + r")\b\.?\s+\d{1,4}(?-i:[A-Z])?\b"
    return PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[Pattern("street address", pattern, 0.6), Pattern("street, then number", number_after, 0.5)],
        context=["address", "live", "lives", "ship", "deliver", "street", "located"],
    )


def international_phone_recognizer() -> PatternRecognizer:
    """Numbers with a ``+`` country code and digit groups, ``(NNN) NNN-NNNN`` whatever the area code, and a
    bracketed area code of two to four digits before two groups (``(37) 788-063``)."""
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="InternationalPhoneRecognizer",
        patterns=[
            Pattern("intl phone", r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w])", 0.7),
            Pattern("north american phone", r"(?<![\w(])\(\d{3}\)[ ]?\d{3}[-. ]\d{4}\b", 0.6),
            Pattern("area code in brackets", r"(?<![\w(])\(\d{2,4}\)[ ]?\d{3,4}[-. ]\d{3,4}(?![\w-]|\.\d)", 0.5),
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
    not the lemma-only ones); a PERSON inside a run is reported, cut by ``shape``
    (``tasks.pii.names.PersonShape``, English words too: ``NIGGA WE ATE IT``, ``wrong``) when given.
    """

    _RUN = re.compile(r"\b[A-Z][A-Z'-]+(?:\s+[A-Z][A-Z'-]+){1,2}\b")

    def __init__(self, nlp, shape=None) -> None:
        self._nlp = nlp
        self._shape = shape
        self._primed: dict[str, list[tuple[str, int, int]]] = {}
        super().__init__(supported_entities=["PERSON"], name="CapitalisedNameRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: the spaCy pipeline is shared with the NLP engine."""

    _LOWER_WORD = re.compile(r"\b[a-z][a-z'-]+\b")

    def _cased(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        if not any(c.isupper() for c in text):  # an all-lower-case text: its content words capitalised
            from spacy.lang.en.stop_words import STOP_WORDS

            runs = [m.span() for m in self._LOWER_WORD.finditer(text) if m.group() not in STOP_WORDS]
            cased = list(text)
            for start, _ in runs:
                cased[start] = text[start].upper()
            return "".join(cased), runs
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
        found = [(start, end) for label, start, end in ents if label == "PERSON" and any(s <= start < e for s, e in runs)]
        if self._shape is not None:
            found = [k for k in (self._shape.trimmed(cased, s, e, english_spans=True) for s, e in found) if k]
        return [RecognizerResult("PERSON", start, end, 0.7) for start, end in found]




NAME_WORD = r"\p{Lu}[\p{L}'’-]*"
"""One capitalised word in any script with case (presidio compiles patterns with ``regex``: ``\\p{..}`` works)."""
_NAME = r"(?-i:" + NAME_WORD + r"(?:[ ]" + NAME_WORD + r"){0,2})"
"""presidio matches with IGNORECASE: the name part turns it off, the cues keep it."""
_NAME_CUES = {
    "greeting": r"(?i:hi|hello|hey|dear|hiya|thanks|thank you|goodbye|bye|welcome|congrats|congratulations|"
    r"hola|bonjour|salut|hallo|ciao|olá|hej|hei|merhaba|gracias|merci|danke|obrigad[oa]|grazie)[ ,]{1,2}",
    "field": r"(?i:(?<!(?i:bank|company|business|file|product|brand|street|app|domain|host|model|project|school|"
    r"university|hospital|account|device|pet|ship|store|shop|team|venue|event|course|document|organi[sz]ation|"
    r"employer|vessel|drug|plan|program|programme|trade|legal entity|site|server|network)[ ])name|first name|last name|surname|full name|given name|patient|client|employee|customer|"
    r"complainant|applicant|contact|member|student|tenant|guest|attendee|witness|signed|attn|instructor|educator|"
    r"trainer|teacher|tutor|reporter|borrower|lender|trustee|recordee|author|guardian|parent|participants?|"
    r"attendees|recipient|beneficiary|cardholder|account holder|interviewer|interviewee|candidate|physician|"
    r"therapist|counsell?or|supervisor|coordinator|host|speaker|organi[sz]er|dear)\s*:\s*",
    "title": r"\b(?i:mr|mrs|ms|miss|mx|mstr|dr|prof|sir|dame|madam|mayor|mayoress|officer|judge|rev|capt)\.?[ ]",
    "verb": r"\b(?i:directed by|written by|produced by|recorded by|reviewed by|compiled by|signed by|owned by|"
    r"registered to|submitted by|assigned to|prepared by|approved by|created by|posted by|sent by|my name is|"
    r"name's|call me|je m'appelle|je suis|me llamo|soy|mi chiamo|sono|ich bin|ich heiße|ich heisse|mein name ist|"
    r"meu nome é|eu sou|mijn naam is|ik ben|jag heter|mitt namn är|jeg heter|nazywam się|spoke with|talked to|speak with|spoke to|collaborate with|meeting with|sessions? with|"
    r"workshop with|regards,|thanks,|cheers,|sincerely,|best,|evaluated by|assessed by|managed by|led by|"
    r"conducted by|authored by|presented by|hosted by|taught by|treated by|referred by|examined by|"
    r"interviewed by|reported by|filed by|issued to|addressed to|on behalf of|consent for|permission for):?\s{1,3}",
}
COMMON_WORDS = frozenset(
    "team all everyone everybody there guys folks world sir madam friends friend again you everyone's so for "
    "and the this that team's mom mum dad today tomorrow please ok okay sure yes no great good morning evening "
    "afternoon night customer client support sales admin user patient doctor nurse manager hey hello hi dear "
    "male female gender marketing judge officer mister hola bonjour salut hallo ciao olá hej hei merhaba gracias "
    "merci danke grazie obrigado obrigada master mstr greetings madame".split()
)


class CuedNameRecognizer(PatternRecognizer):
    """One to three capitalised words after a cue that introduces a person.

    Cues: a greeting ("Hello Sardagna,"), a form field ("Name: Müge", "Patient: Hadda"), a title
    ("Mrs Contessi", "Dr. Baird"), a verb phrase ("directed by", "registered to", "my name is",
    "regards,"), and a capitalised word opening the text before a comma ("Qiumei, good news").
    A candidate whose first word is a stop word, a common salutation word ("Hi All") or an adverb
    ("Hi Really"; not a known name ending in -ly, "Thanks Lily") is dropped,
    and so is one of several words that are all English and no known name by ``shape``
    (``tasks.pii.names.PersonShape``: "Dear Retirement Account"), or one that runs into a slash ("Filed by Mozilla/5.0"). A "name:" field of
    a thing ("Bank Name:", "Company Name:") is no cue.

    With ``fields=True`` the recognizer takes the form fields only ("Customer: DJ Switch") and keeps
    a value of several English words, a stop word first too ("Customer: The Watcher"): a field that
    names a person holds a name, whatever its words.
    """

    def __init__(self, shape=None, fields: bool = False) -> None:
        self._shape = shape
        self._fields = fields
        cues = {k: v for k, v in _NAME_CUES.items() if (k == "field") == fields}
        patterns = [Pattern(f"name after {cue}", r"(?<=" + regex + r")" + _NAME + r"\b(?!/)", 0.6) for cue, regex in cues.items()]
        if not fields:
            patterns.append(Pattern("vocative opening", r"(?:^|(?<=^<\w{1,3}>))(?-i:" + NAME_WORD + r")(?=,\s)", 0.5))
        name = "FieldNameRecognizer" if fields else "CuedNameRecognizer"
        super().__init__(supported_entity="PERSON", name=name, patterns=patterns)

    def invalidate_result(self, pattern_text: str) -> bool:
        """Drop a candidate opening with a stop word, a common word or an adverb."""
        from spacy.lang.en.stop_words import STOP_WORDS

        words = pattern_text.split()
        first = words[0].casefold().strip("'’-.")
        several = len(words) > 1
        initial = len(first) == 1 and several  # "Contact: K Choi"
        adverb = first.endswith("ly") and not (self._shape is not None and self._shape.known(first))  # "Lily" is a name
        article = self._fields and several and first in STOP_WORDS  # "Customer: The Watcher"
        common = first in STOP_WORDS or first in COMMON_WORDS
        if (common and not article) or adverb or (len(first) < 2 and not initial):
            return True  # "Dear Retirement Account"; one English word may be a name ("Complainant: Alamo")
        return self._shape is not None and several and not self._fields and self._shape.english_only(pattern_text)


def user_handle_recognizer() -> PatternRecognizer:
    """Social-media handles (``@name``, not inside an e-mail address): they identify a person."""
    return PatternRecognizer(
        supported_entity="PERSON",
        name="UserHandleRecognizer",
        patterns=[Pattern("user handle", r"(?<![\w@.])@[A-Za-z0-9_]{2,30}\b", 0.6)],
    )


def id_number_recognizer() -> PatternRecognizer:
    """Record numbers: ``MRN-780498``, letters then six or more digits (``MED24535084``), long digit runs (``017948040.4271``)."""
    return PatternRecognizer(
        supported_entity="ID_NUMBER",
        name="IdNumberRecognizer",
        patterns=[
            Pattern("medical record number", r"\b(?i:mrn)[-:# ]*\d{4,}\b", 0.8),
            Pattern("prefixed id", r"\b[A-Z]{1,4}\d{6,}\b", 0.5),
            Pattern("long digit run", r"(?<![\w.-])\d{9,}(?:[.-]\d{1,6})?(?![\w-]|[.]\d)", 0.45),
        ],
    )


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class LuhnCardRecognizer(PatternRecognizer):
    """13 to 19 digits (spaces or dashes between groups) that pass the Luhn check, whatever the prefix."""

    def __init__(self) -> None:
        pattern = r"(?<![\w.-])\d{4}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,3})?(?![\w.-])"
        super().__init__(
            supported_entity="CREDIT_CARD", name="LuhnCardRecognizer", patterns=[Pattern("luhn card", pattern, 0.6)]
        )

    def validate_result(self, pattern_text: str) -> bool:
        """True when the digits are 13-19 long and pass Luhn."""
        digits = re.sub(r"\D", "", pattern_text)
        return 13 <= len(digits) <= 19 and _luhn_ok(digits)


class GroupedPhoneRecognizer(PatternRecognizer):
    """Digit groups with separators, nine to fifteen digits in all (``035-143.6160``, ``00.76 17 65 84``).

    Not a date (``2053-03-01``, too few digits), not a date and time (``7975-02-21 16:53:15``: a
    group running into ``:`` or ``.`` and a digit), nothing right after a slash (``Gecko/8878-08-03``)
    and not an IPv4 address (four dot groups of 1-3 digits).
    """

    def __init__(self) -> None:
        pattern = r"(?<![\w.+/-])\(?\d{2,5}\)?(?:[ .-]{1,2}\(?\d{2,5}\)?){2,5}(?![\w-]|[.:]\d)"
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="GroupedPhoneRecognizer",
            patterns=[Pattern("grouped phone", pattern, 0.5)],
        )

    def validate_result(self, pattern_text: str) -> bool:
        """True for 9-15 digits that are not an IPv4 address."""
        digits = re.sub(r"\D", "", pattern_text)
        ipv4 = re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", pattern_text) is not None
        return 9 <= len(digits) <= 15 and not ipv4


MONTHS_AND_DAYS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)


@functools.cache
def person_name_gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names of every locale Faker ships (MIT; about 31,000 first and 28,000 last names).

    Read from the providers' class attributes (no ``Faker`` instance, no randomness).
    """
    import importlib
    import pkgutil

    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = getattr(importlib.import_module(f"{person.__name__}.{module.name}"), "Provider", None)
        attributes = vars(provider) if provider is not None else {}
        for attr, into in (("first_names", first), ("first_names_male", first), ("first_names_female", first),
                           ("first_names_nonbinary", first), ("last_names", last)):
            values = attributes.get(attr)
            if isinstance(values, dict | list | tuple | set | frozenset):
                into.update(v for v in values if isinstance(v, str) and v.isalpha())
    return frozenset(first), frozenset(last)


def english_words(nlp) -> frozenset[str]:
    """Lower-case English words: the lemma index of spaCy's English lemmatizer (WordNet's nouns, verbs,
    adjectives and adverbs, some proper nouns among them), spaCy's stop words, month and day names."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words: set[str] = set(STOP_WORDS) | MONTHS_AND_DAYS | COMMON_WORDS
    if "lemmatizer" in nlp.pipe_names:
        lookups = nlp.get_pipe("lemmatizer").lookups
        if lookups.has_table("lemma_index"):
            for lemmas in lookups.get_table("lemma_index").values():
                words.update(w for w in lemmas if "_" not in w)
    return frozenset(words)


class GazetteerNameRecognizer(EntityRecognizer):
    """Known first names that are not English words, with the name words that follow them.

    A capitalised or lower-case word (``Wendy``, ``MICHELLE``, ``tanner``) that is a first name in Faker's lists of every locale
    and not an English word (spaCy's lemma index, stop words, months) starts a PERSON; up to two
    following words join it when they are capitalised, or lower-case known last names
    (``Kylie minogue``), and not English words. Catches the names spaCy's small model misses in
    short informal text without removing the common words that double as names (``Will``, ``Mark``,
    ``Rose``, ``Grant``).
    """

    _HASHTAG = re.compile(r"(?<![\w#])#(\w{4,})")
    _CAMEL = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")
    _WORD = re.compile(r"(?<![\w@#'’])[^\W\d_][^\W\d_'’-]*(?:['’-](?![sS]\b)[^\W\d_]+)?(?![\w@])")
    """A word; ``O'Brien`` and ``Jean-Luc`` are one, the possessive of ``Wendy's`` is left out."""

    def __init__(self, english: frozenset[str], first: frozenset[str] | None = None,
                 last: frozenset[str] | None = None, inflections: frozenset[str] = frozenset()) -> None:
        gazetteer_first, gazetteer_last = person_name_gazetteer() if first is None or last is None else (first, last)
        self._first = {n.casefold() for n in gazetteer_first if len(n) >= 3} - english
        self._last = {n.casefold() for n in gazetteer_last if len(n) >= 3} - english
        self.english = english
        self._forms = english | inflections
        super().__init__(supported_entities=["PERSON"], name="GazetteerNameRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: the lists are read at construction."""

    @staticmethod
    def _capitalised(word: str) -> bool:
        return word[0].isupper() and (word[1:].islower() or word.isupper())

    def _starts(self, word: str) -> bool:
        """Title case; capitals of four letters or more (not ``MIA``, ``ISA``); lower case of four or
        more that is no inflected English word either (not ``lies``, ``hung``, ``media``)."""
        if word.isupper():
            return len(word) >= 4
        if word.islower():
            return len(word) >= 4 and not inflected_english(word, self._forms)
        return self._capitalised(word)

    def _joins(self, word: str) -> bool:
        folded = word.casefold()
        if folded in self.english:
            return False
        return self._capitalised(word) or folded in self._last or folded in self._first

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON findings starting at a known first name."""
        if "PERSON" not in entities:
            return []
        words = list(self._WORD.finditer(text))
        results, i = [], 0
        while i < len(words):
            word = words[i].group()
            if not (self._starts(word) and word.casefold() in self._first):
                i += 1
                continue
            j = i
            while j + 1 < len(words) and j - i < 2 and text[words[j].end() : words[j + 1].start()] == " ":
                if not self._joins(words[j + 1].group()):
                    break
                j += 1
            results.append(RecognizerResult("PERSON", words[i].start(), words[j].end(), 0.5))
            i = j + 1
        for tag in self._HASHTAG.finditer(text):
            parts = self._CAMEL.findall(tag.group(1))
            if any(a.casefold() in self._first and b[0].isupper() for a, b in itertools.pairwise(parts)):
                results.append(RecognizerResult("PERSON", tag.start(), tag.end(), 0.5))
        return results


class NameLikeEntityRecognizer(EntityRecognizer):
    """spaCy's organisations, places and nationalities that look like a person's name, as PERSON.

    spaCy's small model often labels an unfamiliar name ORG or GPE (``Kimmel``, ``Hamidollah``,
    ``Naora``). A span of one to three title-case words (no digits, no inner capitals such as
    ``PixelDesk``) becomes a PERSON when its first word is a known first name (``Jason``, ``Paul``:
    common words among them), or when none of its words is an English word or an inflected one
    (``Wizards``): ``Google``, ``Paris``, ``Orbit Mail`` stay, and so do elongated words
    (``Pleaseee``) and spans ending in an organisation word (``Jenkins Group``, ``Webb Group``).
    """

    FUSED_LABELS = ("ORGANIZATION", "LOCATION", "NRP")
    _TITLE_WORD = re.compile(r"[^\W\d_][^\W\d_A-Z]*(?:['’-][^\W\d_][^\W\d_A-Z]*)*")

    ORGANISATION_WORDS = frozenset(
        "group society sons brothers llc inc ltd plc gmbh ag co corp company bank building partners associates "
        "fisheries foundation trust holdings international university college school hospital clinic".split()
    )
    """A last word that makes the span an organisation (``Webb Group``, ``Mansfield Building Society``)."""

    def __init__(self, english: frozenset[str], first: frozenset[str] | None = None,
                 inflections: frozenset[str] = frozenset()) -> None:
        names = person_name_gazetteer()[0] if first is None else first
        self._first = {n.casefold() for n in names if len(n) >= 3}
        self._english = english | inflections
        super().__init__(supported_entities=["PERSON"], name="NameLikeEntityRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: reads the entities spaCy already found."""

    def name_like(self, span: str) -> bool:
        """True for one to three title-case words led by a first name, or with no English word."""
        words = span.split()
        if not 1 <= len(words) <= 3 or not all(w[0].isupper() and self._TITLE_WORD.fullmatch(w) for w in words):
            return False
        parts = [p.casefold() for w in words for p in re.split(r"['’-]", w) if p]
        if re.search(r"([^\W\d_])\1\1", span.casefold()) or parts[-1] in self.ORGANISATION_WORDS:
            return False  # "Damnnnn", "Pleaseee"; "Webb Group"
        if words[0].casefold() in self._first:
            return True
        return all(len(p) >= 3 and not inflected_english(p, self._english) for p in parts)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON findings for name-like spaCy organisations, places and nationalities."""
        if "PERSON" not in entities or nlp_artifacts is None:
            return []
        return [
            RecognizerResult("PERSON", e.start_char, e.end_char, 0.5)
            for e in nlp_artifacts.entities
            if e.label_ in self.FUSED_LABELS and self.name_like(e.text)
        ]


STREET_TYPES_BEFORE = (
    "rue|avenue|av\\.|avenida|avda\\.|calle|c/|carrer|rua|piazza|piazzale|corso|strada|largo|"
    "boulevard|bd\\.?|chemin|allée|impasse|quai|place|plaza|paseo|praça|travessa|ul\\.|ulica|aleja|al\\.|"
    "utca|út|ulitsa|prospekt|straat|laan|weg|plein|gracht|kade|(?-i:Via|Viale)"
)
"""Street words written before the name (``12 Rue de Rivoli``, ``Calle Mayor 5``, ``ul. Długa 3``)."""
STREET_TYPES_AFTER = (
    "straße|strasse|str\\.|gasse|weg|platz|allee|damm|ufer|gade|vej|gatan|gränd|vägen|veien|gata|"
    "straat|laan|plein|gracht|utca|katu|polku"
)
"""Street words ending the name, a house number after it (``Hauptstraße 5``, ``Kungsgatan 44``)."""
_NAME_PARTICLES = r"(?:(?i:de|del|de la|des|du|da|do|dos|di|della|van|der|den|la|le|les|los|las|von)\s+)*"


def international_street_recognizer() -> PatternRecognizer:
    """Street addresses in the continental styles: a street word before the name, or a name ending in one.

    ``12 Rue de Rivoli``, ``Via Roma 10``, ``Calle Mayor 5, 3º``, ``Hauptstraße 5``, ``Kungsgatan 44 B``.
    A house number is required (before or after), so ``rue``, ``via`` and ``place`` in prose do not match
    (nor ``sent 2 via Slack``: ``via`` takes its number after the name, as Italian addresses do).
    """
    # presidio matches with IGNORECASE: the capitals are matched with it off.
    name = _NAME_PARTICLES + r"(?-i:\p{Lu})[\p{L}'’.-]+(?:\s+" + _NAME_PARTICLES + r"(?-i:\p{Lu})[\p{L}'’.-]+){0,3}"
    before = r"(?i:" + STREET_TYPES_BEFORE + r")\s+" + name
    number = r"\d{1,5}(?:\s?(?-i:[A-Z])(?![\w]))?"
    patterns = [
        Pattern("number, street word, name", r"(?<![\w.])\d{1,5}[a-z]?,?\s+(?!(?i:via)\s)" + before + r"(?:,?\s+" + number + r")?", 0.6),
        Pattern("street word, name, number", r"(?<![\w.])" + before + r",?\s+" + number, 0.6),
        Pattern(
            "name ending in a street word, number",
            r"(?<![\w.])(?-i:\p{Lu})[\p{L}-]*(?i:" + STREET_TYPES_AFTER + r")(?:\s+(?-i:\p{Lu})[\p{L}-]+)?\s+" + number,
            0.6,
        ),
    ]
    return PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        name="InternationalStreetRecognizer",
        patterns=patterns,
    )
