"""Person names: which NER findings look like a name, and surnames with particles (``van der Berg``).

spaCy's small model tags tweet slang, interjections and headline words as PERSON (``RT``,
``Wowwwwww``, ``OH MY GOD``, ``Download``); ``PersonShape`` says which findings cannot be a name,
from the words' shape and the English and name word lists, and ``PlausibleSpacyRecognizer`` drops
those PERSON findings. ``ParticleNameRecognizer`` carries a found name over the particles and the
capitalised surname that follow it (``Ahmed El Ouahabi``, ``Pieter van der Berg``).
``IntroductionRecognizer`` takes the name a writer gives themselves (``my name is DJ Switch``, ``Lily here.``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import regex

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from tasks.pii.engine import LANGUAGE

NAME_PARTICLES = frozenset(
    "al el ul bin ibn ben bint abu abd van von der den ter ten de del della dela di da das dos do du des la le "
    "lo li st ste mac mc o ó ní nic ua bat".split()
)
"""Lower-case words that join a given name to its surname (Arabic, Dutch, German, Romance, Irish)."""
CHAT_ACRONYMS = frozenset(
    "rt mt dm omg lol lmao lmfao rofl tbh smh imo imho idk ikr wtf wth btw fyi brb ttyl jk nvm ily tysm thx "
    "pls plz af fr ngl irl ftw fomo yolo bae ffs oh ok xd".split()
)
"""Chat and tweet acronyms the NER tags as PERSON on its own."""
_RETWEET = re.compile(r"(?:(?:RT|MT|via|cc)\b[\s:]*)+(?=@)")
"""Twitter's markers before a handle: no part of the name."""
_ELONGATED = re.compile(r"([^\W\d_])\1\1")
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’.-]*")


def inflected_english(word: str, english: frozenset[str]) -> bool:
    """True when a lower-case ``word`` is an English word or its regular plural / verb form (``lies``, ``hung``).

    ``english`` holds lemmas only; the regular endings are stripped here and the irregular forms
    come from spaCy's lemma exceptions (``english_inflections``, merged into ``english``).
    """
    if word in english:
        return True
    stems = []
    if word.endswith("ies"):
        stems.append(word[:-3] + "y")
    if word.endswith("es"):
        stems.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        stems.append(word[:-1])
    if word.endswith("ed"):
        stems += [word[:-2], word[:-1]]
    if word.endswith("ing"):
        stems += [word[:-3], word[:-3] + "e"]
    return any(len(s) >= 3 and s in english for s in stems)


def english_inflections(nlp) -> frozenset[str]:
    """Irregular inflected forms in spaCy's English lemma exceptions (``hung``, ``media``, ``geese``)."""
    if "lemmatizer" not in nlp.pipe_names:
        return frozenset()
    lookups = nlp.get_pipe("lemmatizer").lookups
    if not lookups.has_table("lemma_exc"):
        return frozenset()
    return frozenset(w for table in lookups.get_table("lemma_exc").values() for w in table if "_" not in w)


class PersonShape:
    """Whether an NER PERSON span can be a person's name, by the shape of its words.

    A retweet marker before a handle is cut off (``RT @bob`` -> ``@bob``), then a span with a digit
    or an ``@`` is left alone (an identifier either way). Otherwise it is cut
    before its first stop word that is neither a name particle, an initial nor a known first name in
    title case (``Will Smith`` stays; ``OH MY GOD`` is cut though "My" is a first name somewhere)
    (``hangwani u see`` -> ``hangwani u``; ``OH MY GOD`` -> ``OH``; ``She`` -> nothing), and what is left is
    no name when: most of its words have a letter three times in a row (``Wowwwwww``, ``fackkk``);
    it is one word, a chat acronym (``RT``, ``OMG``, ``TBH``) or of one or two letters not all capitals
    (``me``, ``Yo``; ``JD`` may be initials), and not a known first or last name (``Li``, ``Wu`` stay); it is a hashtag of one English word (``#Libra``, ``#Tax``; camel-case hashtags
    stay, ``#TharkiTharoor`` is often a name); with ``english_spans``, its words are all English (or inflected English)
    and none a known first or last name (``Wrong``, ``Ball Licker``: for title-cased copies of
    lower-case or all-capital text, where the NER tags almost anything).
    """

    def __init__(self, english: frozenset[str], first: Iterable[str], last: Iterable[str]) -> None:
        self._english = english
        self._first = frozenset(n.casefold() for n in first)
        self._names = self._first | frozenset(n.casefold() for n in last)

    def _all_english(self, folded: list[str]) -> bool:
        return all(inflected_english(f, self._english) for f in folded) and not any(f in self._names for f in folded)

    def trimmed(self, text: str, start: int, end: int, english_spans: bool = False) -> tuple[int, int] | None:
        """The part of ``text[start:end]`` that can be a name, or None (see the class docstring)."""
        marker = _RETWEET.match(text, start, end)
        if marker and marker.end() < end:
            start = marker.end()  # "RT @LaLaDessie" -> "@LaLaDessie"
        span = text[start:end]
        if any(c.isdigit() or c == "@" for c in span):
            return start, end
        words = list(_NAME_WORD.finditer(span))
        kept = []
        for m in words:
            f = m.group().casefold().strip("'’.-")
            title_case_name = m.group()[0].isupper() and m.group()[1:].islower() and f in self._first  # "Will Smith"
            if f in STOP_WORDS and f not in NAME_PARTICLES and not title_case_name and len(f) > 1:
                break
            kept.append(m)
        if not kept:
            return None
        end = start + kept[-1].end()
        start = start + kept[0].start()
        folded = [m.group().casefold().strip("'’.-") for m in kept]
        if sum(bool(_ELONGATED.search(f)) for f in folded) * 2 > len(folded):
            return None
        word = kept[0].group()
        if len(kept) == 1 and folded[0] not in self._names and (
            folded[0] in CHAT_ACRONYMS or (len(word) <= 2 and not word.isupper())
        ):
            return None
        if start > 0 and text[start - 1] == "#" and len(kept) == 1 and self._all_english(folded):
            return None
        if english_spans and self._all_english(folded):
            return None
        return start, end

    def known(self, word: str) -> bool:
        """True when ``word`` is a known first or last name (any case)."""
        return word.casefold() in self._names

    def english_only(self, span: str) -> bool:
        """True when every word of ``span`` is (inflected) English and none a known first or last name.

        A word of two or three capitals that is no chat acronym counts as initials, not English
        (``DJ Switch``, ``AJ Styles``).
        """
        words = [m.group() for m in _NAME_WORD.finditer(span)]
        if any(2 <= len(w) <= 3 and w.isupper() and w.casefold() not in CHAT_ACRONYMS for w in words):
            return False
        folded = [w.casefold().strip("'’.-") for w in words]
        return bool(folded) and self._all_english(folded)

    def plausible(self, text: str, start: int, end: int, english_spans: bool = False) -> bool:
        """True when ``trimmed`` keeps all of ``text[start:end]``."""
        return self.trimmed(text, start, end, english_spans) == (start, end)


class PlausibleSpacyRecognizer(SpacyRecognizer):
    """presidio's spaCy recognizer, its PERSON findings cut to what can be a name (``PersonShape``)."""

    def __init__(self, shape: PersonShape, **kwargs) -> None:
        self._shape = shape
        super().__init__(**kwargs)

    def analyze(self, text: str, entities, nlp_artifacts=None):
        """spaCy's findings, PERSON spans cut to what can be a name, or left out."""
        results = []
        for r in super().analyze(text, entities, nlp_artifacts):
            if r.entity_type == "PERSON":
                kept = self._shape.trimmed(text, r.start, r.end)
                if kept is None:
                    continue
                r.start, r.end = kept
            results.append(r)
        return results


class SurnameRecognizer(EntityRecognizer):
    """Surnames the other recognizers leave: after a particle (``Ahmed El Ouahabi``), or a known one alone.

    * A known first name (Faker's lists, English words among them: ``Grace``), then one to three
      name particles (``van der``, ``El``, ``al-``, ``de la``, ``bin``) and a capitalised word:
      the whole run is a PERSON (``Pieter van der Berg``, ``Maria de la Cruz``, ``Omar al-Farouk``).
    * A title-case particle that starts surnames (``El``, ``Al``, ``Ben``, ``Van``, ``De``, ``Mac``, ...)
      before a capitalised word that is no English word: ``El Ouahabi here``, ``my colleague Van Dijk``.
    * With ``lone_surnames``, a title-case word (or capitals, four letters or more) that is a known
      last name of four letters or more and no English word, inflected or not (``Mutombo``, ``Kimmel``).
    """

    _WORD = re.compile(r"(?<![\w@#'’])[^\W\d_][^\W\d_'’]*(?:['’][^\W\d_]+)?(?![\w@])")

    def __init__(self, english: frozenset[str], first: Iterable[str], last: Iterable[str],
                 lone_surnames: bool = False) -> None:
        self._first = frozenset(n.casefold() for n in first if len(n) >= 3) - STOP_WORDS
        self._last = frozenset(n.casefold() for n in last if len(n) >= 4 and n.isalpha())
        self._english = english
        self._lone = lone_surnames
        particle = "|".join(sorted((re.escape(p) for p in NAME_PARTICLES if len(p) > 1), key=len, reverse=True))
        self._particle_run = regex.compile(
            r"([ ](?:(?i:" + particle + r")(?:[ ]|[-’'][ ]?)){1,3})(\p{Lu}[\p{L}'’]+(?:-\p{Lu}[\p{L}'’]+)?)"
        )
        self._particle_led = regex.compile(
            r"(?<![\w'’-])(?:El|Al|Abu|Ben|Bin|Ibn|Van|Von|Da|De|Di|Del|Della|Dos|Du|Le|Mac|Mc)(?:[ ]|-)"
            r"(?:(?:der|den|de|la|le)[ ])?(\p{Lu}\p{Ll}{2,})(?![\w'’-])"
        )
        super().__init__(supported_entities=["PERSON"], name="SurnameRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: the lists are given."""

    def _lone_surname(self, word: str) -> bool:
        if not (word[0].isupper() and (word[1:].islower() or (word.isupper() and len(word) >= 4))):
            return False
        folded = word.casefold()
        return folded in self._last and not inflected_english(folded, self._english)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON findings: first name + particles + surname, particle-led surnames, known lone surnames."""
        if "PERSON" not in entities:
            return []
        results = []
        for m in self._WORD.finditer(text):
            word = m.group()
            if word[0].isupper() and word.casefold() in self._first:
                run = self._particle_run.match(text, m.end())
                if run:
                    results.append(RecognizerResult("PERSON", m.start(), run.end(), 0.6))
                    continue
            if self._lone and self._lone_surname(word):
                results.append(RecognizerResult("PERSON", m.start(), m.end(), 0.45))
        for m in self._particle_led.finditer(text):
            inside = any(r.start <= m.start() and m.end() <= r.end for r in results)
            if not inside and not inflected_english(m.group(1).casefold(), self._english):
                results.append(RecognizerResult("PERSON", m.start(), m.end(), 0.5))
        return results


VOCATIVES = frozenset(
    "love sunshine honey hun baby babe darling dear sweetie sweetheart buddy mate man girl girls boy boys bro sis "
    "dude pal friend friends sir madam gorgeous beautiful handsome cutie angel princess king queen boss chief "
    "captain doc fam guys all everyone everybody there team folks world".split()
)
"""Words a greeting addresses that are no name, though some are first names somewhere (``Love``, ``Sunshine``)."""


class LowerCaseCuedNameRecognizer(EntityRecognizer):
    """A lower-case name after a cue (``my name is krithika``, ``hey tanner``), which the NER misses.

    After "my name is", "call me" or "name's": one lower-case word of three letters or more that is
    no English word, inflected or not, and no stop word. After a greeting ("hey", "hi", "hello",
    "dear", "thanks", "thank you"): one lower-case word that is a known first name and no stop word
    (``hey tanner``; not ``hey bruh``, ``hi guys``).
    """

    _INTRODUCED = re.compile(r"\b(?i:my name is|my name's|name's|call me)[ ]+([a-z][a-z'’-]{2,})\b(?![.@/'’-]\w)")
    _GREETED = re.compile(r"\b(?i:hey|hi|hello|dear|thanks|thank you|hiya)[ ,]+([a-z][a-z'’-]{2,})\b(?![.@/'’-]\w)")

    def __init__(self, english: frozenset[str], first: Iterable[str]) -> None:
        self._english = english
        self._first = frozenset(n.casefold() for n in first if len(n) >= 3) - STOP_WORDS
        super().__init__(supported_entities=["PERSON"], name="LowerCaseCuedNameRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: the lists are given."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON findings for lower-case names after an introduction or a greeting."""
        if "PERSON" not in entities:
            return []
        results = []
        for m in self._INTRODUCED.finditer(text):
            word = m.group(1)
            if word not in STOP_WORDS and not inflected_english(word, self._english):
                results.append(RecognizerResult("PERSON", m.start(1), m.end(1), 0.6))
        for m in self._GREETED.finditer(text):
            if m.group(1) in self._first and m.group(1) not in VOCATIVES:
                results.append(RecognizerResult("PERSON", m.start(1), m.end(1), 0.5))
        return results


_INTRODUCTION = (
    r"(?i:my name is|my name's|name's|call me|je m'appelle|me llamo|mi chiamo|ich heiße|ich heisse|mein name ist|"
    r"meu nome é|mijn naam is|jag heter|jeg heter|nazywam się|"
    r"soy|je suis|ich bin|sono|ik ben|eu sou|"
    r"(?:hi|hello|hey|good morning|good afternoon|good evening|hola|bonjour|hallo)[,!]?[ ](?:this is|it's|it is)|"
    r"my (?:colleague|coworker|co-worker|manager|boss|friend|wife|husband|partner|son|daughter|brother|sister|"
    r"mother|father|mom|mum|dad|neighbou?r|lawyer|doctor|assistant|supervisor|client|landlord|tenant))[ ]{1,3}"
)
_SIGN_OFF = (
    r"(?i:regards|best regards|kind regards|warm regards|best wishes|best|cheers|thanks|thank you|many thanks|"
    r"sincerely|yours sincerely|yours truly|yours|respectfully|saludos|cordialement|grüße|gruß|mfg)[,!]?\s{1,3}"
)
_CAPITALISED = r"\p{Lu}(?:\.|[\p{L}'’-]*)"
"""A capitalised word or an initial with its full stop (``K.``); a word's own full stop is not taken."""


class IntroductionRecognizer(EntityRecognizer):
    """What a person calls themselves: the capitalised words after an introduction, and a signed opening.

    * After "my name is" (and its forms in nine languages, "soy", "ich bin"), a greeting and "this is" /
      "it's", or a relation ("my colleague", "my wife"): one to three capitalised words, English or not
      (``my name is DJ Switch``, ``je m'appelle The Watcher``, ``Hello, this is GT``, ``my colleague K Choi``). What a writer gives as their own name is redacted even when its
      words are English; a lone stop word or common word (``this is Support``) is not taken.
    * A sign-off ending the text or a line: "Regards," "Thanks," "Cheers," ... and one to three
      capitalised words, English or not (``Regards, DJ Switch``; words led by a common word, ``Thanks,
      Team``, ``Regards, The Support Team``, are not taken).
    * One to three capitalised words opening the text or a line, then ``here`` and a stop (``Lily here.``,
      ``KK here,``): a known first name and more words (``Ray Bradbury here``), or each word an
      initial, a known first or last name or no English word (``K Choi here``; ``Question here:``
      and initials alone are not taken).
    """

    def __init__(self, english: frozenset[str], first: Iterable[str], last: Iterable[str],
                 common: Iterable[str] = ()) -> None:
        self._english = english
        self._first = frozenset(n.casefold() for n in first)
        self._names = self._first | frozenset(n.casefold() for n in last)
        self._common = frozenset(common) | STOP_WORDS
        name = _CAPITALISED + r"(?:[ ]" + _CAPITALISED + r"){0,2}"
        self._introduced = regex.compile(r"(?<![\w])" + _INTRODUCTION + r"(?-i:(" + name + r"))(?![\w@/])")
        self._signed_off = regex.compile(
            r"(?<![\w])" + _SIGN_OFF + r"(?-i:(" + name + r"))[ ]*(?:[.!]|$)[ ]*$", regex.MULTILINE
        )
        self._signed = regex.compile(r"(?m:^|(?<=[.!?][ ]))(" + name + r")[ ]here(?=[.,!:;]|\s*$)")
        super().__init__(supported_entities=["PERSON"], name="IntroductionRecognizer", supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load: the lists are given."""

    def _named(self, word: str) -> bool:
        folded = word.casefold().strip("'’.-")
        return len(folded) == 1 or folded in self._names or not inflected_english(folded, self._english)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON findings after an introduction and before a signed "here"."""
        if "PERSON" not in entities:
            return []
        results = []
        for m in self._introduced.finditer(text):
            words = m.group(1).split()
            if len(words) == 1 and words[0].casefold().strip("'’-") in self._common:
                continue
            results.append(RecognizerResult("PERSON", m.start(1), m.end(1), 0.6))
        for m in self._signed_off.finditer(text):
            if m.group(1).split()[0].casefold().strip("'’.-") in self._common:  # "Regards, The Support Team"
                continue
            results.append(RecognizerResult("PERSON", m.start(1), m.end(1), 0.6))
        for m in self._signed.finditer(text):
            words = m.group(1).split()
            first_name = len(words) > 1 and words[0].casefold() in self._first  # "Ray Bradbury- here"
            initials_only = all(len(w.strip(".")) == 1 for w in words)
            if words[0].casefold() not in self._common and not initials_only and (
                first_name or all(self._named(w) for w in words)
            ):
                results.append(RecognizerResult("PERSON", m.start(1), m.end(1), 0.5))
        return results
