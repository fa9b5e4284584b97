"""Person-name rules of session 5 on literal examples: what the NER's PERSON findings are cut to,
particle surnames, lower-case cued names, and the false positives fixed on the public sets."""

from __future__ import annotations

import pytest

from schemas.params import RedactParams
from tasks.pii.names import (
    IntroductionRecognizer,
    LowerCaseCuedNameRecognizer,
    PersonShape,
    SurnameRecognizer,
    inflected_english,
)
from tasks.pii.recognizers import (
    CuedNameRecognizer,
    GazetteerNameRecognizer,
    GroupedPhoneRecognizer,
    NameLikeEntityRecognizer,
)
from tasks.pii.redact import analyze_texts
from tests.tasks.pii.entities import Artifacts

PARAMS = RedactParams()
ENGLISH = frozenset(
    "lie hang medium say download follow award winner retirement account credit wrong ball licker libra tax "
    "will mark grace the we it my god oh dj omg switch watcher question support lily really".split()
) | {"hung", "media"}
FIRST = frozenset({"Ahmed", "Pieter", "Maria", "Grace", "Will", "Tanner", "Lies", "Hung", "Media", "Omar", "Harry", "My", "Lily"})
LAST = frozenset({"Smith", "Mutombo", "Berg", "Li", "Choi"})
SHAPE = PersonShape(ENGLISH, FIRST, LAST)


def _spans(recognizer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, ["PERSON"]) if r.score >= PARAMS.score_threshold]


@pytest.mark.parametrize(
    ("word", "english"),
    [("lies", True), ("winners", True), ("companies", False), ("downloaded", True), ("following", True),
     ("hans", False), ("grace", True), ("mutombo", False)],
)
def test_inflected_english(word: str, english: bool) -> None:
    assert inflected_english(word, ENGLISH | {"company"} - {"companies"}) is (english or word == "companies")


@pytest.mark.parametrize(
    ("text", "span", "kept"),
    [
        ("Stephen A Smith giving props", "Stephen A Smith", "Stephen A Smith"),  # an initial is no stop word
        ("Ahmed El Ouahabi called", "Ahmed El Ouahabi", "Ahmed El Ouahabi"),
        ("hangwani u see now", "hangwani u see", "hangwani u"),  # cut before the stop word
        ("Will Smith was there", "Will Smith", "Will Smith"),  # "will" is a stop word and a first name
        ("Dear Grace, hello", "Grace", "Grace"),  # English word, first name
        ("Patient MED70873331 seen", "MED70873331", "MED70873331"),  # an identifier either way
        ("Mr Mutombo", "Mutombo", "Mutombo"),
        ("Dr Li said", "Li", "Li"),  # two letters, a known last name
        ("JD deleted his tweet", "JD", "JD"),  # capitals: may be initials
    ],
)
def test_person_shape_keeps_names(text: str, span: str, kept: str) -> None:
    start = text.index(span)
    cut = SHAPE.trimmed(text, start, start + len(span))
    assert cut is not None and text[cut[0] : cut[1]] == kept


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Wowwwwww", "Wowwwwww"),  # a letter three times
        ("fackkk that", "fackkk"),
        ("RT @bob : great", "RT"),  # a chat acronym
        ("omg tysm", "omg"),
        ("Yo what", "Yo"),  # two letters, not capitals, no known name
        ("OH MY GOD", "OH MY GOD"),  # cut to "OH", then too short
        ("RT @x : She lies", "She"),  # a stop word only
        ("If you do not show a #Libra the interest", "Libra"),  # a hashtag of one English word
    ],
)
def test_person_shape_drops_what_cannot_be_a_name(text: str, span: str) -> None:
    start = text.index(span)
    assert SHAPE.trimmed(text, start, start + len(span)) is None


def test_english_spans_only_where_asked() -> None:
    """English words are a name for the NER on the text itself ("Trump", "Hitler"), not on title-cased copies."""
    text = "Download Wrong"
    assert SHAPE.trimmed(text, 0, len(text)) == (0, len(text))
    assert SHAPE.trimmed(text, 0, len(text), english_spans=True) is None
    assert SHAPE.trimmed("Harry Follow", 0, 12, english_spans=True) == (0, 12)  # a first name among them


def test_ner_on_the_text_loses_slang_but_keeps_names() -> None:
    texts = ["RT @LaLaDessie : Wowwwwww", "NIGGA WE ATE IT", "i talked to john smith yesterday", "Regards, MARIA GONZALEZ"]
    findings = analyze_texts(texts, PARAMS)
    found = {t: [t[r.start : r.end] for r in findings[t] if r.entity_type == "PERSON"] for t in texts}
    assert found[texts[0]] == ["@LaLaDessie"], found
    assert found[texts[1]] == [], found
    assert any("john" in v for v in found[texts[2]]) and "MARIA GONZALEZ" in found[texts[3]], found


def test_a_retweet_marker_is_cut_off_a_handle() -> None:
    text = "RT @LaLaDessie : hi"
    assert SHAPE.trimmed(text, 0, 14) == (3, 14)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I spoke to Ahmed El Ouahabi today", "Ahmed El Ouahabi"),
        ("Pieter van der Berg called", "Pieter van der Berg"),
        ("Maria de la Cruz paid", "Maria de la Cruz"),
        ("meeting with Omar al-Farouk", "Omar al-Farouk"),
        ("Grace Van Dyke", "Grace Van Dyke"),
        ("El Ouahabi here. I moved", "El Ouahabi"),  # a surname led by its particle, no first name
        ("my colleague Van Dijk gave me", "Van Dijk"),
    ],
)
def test_particle_surnames_hit(text: str, name: str) -> None:
    assert _spans(SurnameRecognizer(ENGLISH, FIRST, LAST), text) == [name]


@pytest.mark.parametrize(
    "text",
    ["the van is here", "Maria de facto", "Ahmed al", "Grace and Will", "Pieter Van", "Le Will", "De Grace"],
)
def test_particle_surnames_need_a_capitalised_surname(text: str) -> None:
    assert _spans(SurnameRecognizer(ENGLISH, FIRST, LAST), text) == []


def test_lone_surnames_only_when_asked() -> None:
    text = "Dikembe Mutombo and Smith"
    assert _spans(SurnameRecognizer(ENGLISH, FIRST, LAST), text) == []
    assert _spans(SurnameRecognizer(ENGLISH, FIRST, LAST, lone_surnames=True), text) == ["Mutombo", "Smith"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("My name is krithika and I love you", ["krithika"]),
        ("hey tanner is your last name fox", ["tanner"]),
        ("my name is not important", []),  # stop word
        ("my name is wrong", []),  # English word
        ("hey bruh what", []),  # no first name
        ("thanks grace", ["grace"]),
        ("hi guys", []),
    ],
)
def test_lower_case_names_after_cues(text: str, names: list[str]) -> None:
    assert _spans(LowerCaseCuedNameRecognizer(ENGLISH, FIRST), text) == names


def test_lower_case_greeting_skips_terms_of_address() -> None:
    """BTC: "thanks love !", "Hi sunshine": first names in some locale, terms of address here."""
    assert _spans(LowerCaseCuedNameRecognizer(ENGLISH, FIRST | {"Love", "Sunshine"}), "thanks love ! Hi sunshine") == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Bank Name: Credit Karma", []),  # a thing's name field is no cue
        ("Company Name: Orbit", []),
        ("Dear Retirement Account, as of today", []),  # several English words, no name
        ("Filed by Mozilla/5.0 (Windows NT 5.2)", []),  # runs into a slash
        ("Complainant: Alamo\nDate: 2053", ["Alamo"]),  # one English word after a cue stays a name
        ("with Mstr Tecle Nyga.", ["Tecle Nyga"]),
        ("Name: Müge", ["Müge"]),
    ],
)
def test_cued_name_false_positives(text: str, found: list[str]) -> None:
    assert _spans(CuedNameRecognizer(SHAPE), text) + _spans(CuedNameRecognizer(SHAPE, fields=True), text) == found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Thanks Lily! Sorted.", ["Lily"]),  # a known name ending in -ly is no adverb
        ("Hi Really, thanks", []),
        ("Contact: K Choi, 0123", ["K Choi"]),  # an initial before a surname
        ("Grade: A", []),  # a lone letter is no name
        ("Customer: DJ Switch\nPhone: 1", ["DJ Switch"]),  # a person's field keeps English words
        ("Dear Retirement Switch, hello", []),  # after a greeting several English words stay no name
        ("I talked to DJ Switch yesterday", ["DJ Switch"]),  # two capitals: initials, not English
        ("Dear OMG Switch, hello", []),  # a chat acronym is no initials
        ("Customer: The Watcher\nPhone: 1", ["The Watcher"]),  # a person's field: an article first too
        ("Customer: The\nPhone: 1", []),
    ],
)
def test_cued_names_initials_adverbs_and_fields(text: str, found: list[str]) -> None:
    assert _spans(CuedNameRecognizer(SHAPE), text) + _spans(CuedNameRecognizer(SHAPE, fields=True), text) == found


INTRODUCTIONS = IntroductionRecognizer(ENGLISH, FIRST, LAST, {"support", "officer"})


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Hi, my name is DJ Switch. My card", ["DJ Switch"]),  # English words, given as a name
        ("Bonjour, je m'appelle The Watcher.", ["The Watcher"]),
        ("Hola, soy DJ Switch, mi correo", ["DJ Switch"]),
        ("Hello, this is GT (gt@example.com).", ["GT"]),
        ("my colleague K Choi gave me this number", ["K Choi"]),
        ("KK here. I moved to", ["KK"]),
        ("Harry Question- here.", ["Harry Question-"]),  # a known first name, then any capitalised word
        ("K Choi here. I moved", ["K Choi"]),  # an initial and a surname
        ("K. Choi here. I moved", ["K. Choi"]),
        ("Bonjour, je m'appelle Maria.", ["Maria"]),  # the sentence's full stop is not taken
        ("A. B. here.", []),  # initials alone
        ("Can you update the email? Regards, DJ Switch", ["DJ Switch"]),  # a sign-off, English words
        ("Thanks, Support\nNext line", []),  # a lone common word
        ("Regards, The Support Team", []),  # led by a common word
        ("Regards, Maria. See you", []),  # a sign-off ends the text or the line
        ("Thanks.\nLily here, about the invoice", ["Lily"]),  # a known name, though English
        ("Hello, this is Support.", []),  # a lone common word
        ("my name is not important", []),  # nothing capitalised
        ("Question here: why", []),  # English and no name
        ("Support here.", []),
        ("The problem is here. Nothing here.", []),
        ("this is GT, the new model", []),  # "this is" without a greeting is no introduction
    ],
)
def test_introductions(text: str, found: list[str]) -> None:
    assert _spans(INTRODUCTIONS, text) == found


def test_gazetteer_skips_inflected_lower_case_and_short_capitals() -> None:
    recognizer = GazetteerNameRecognizer(ENGLISH - {"hung", "media"}, FIRST, LAST, inflections=frozenset({"hung", "media"}))
    assert _spans(recognizer, "she lies awake, we hung out, social media, MIA again") == []
    assert _spans(recognizer, "Lies called, then HARRY and tanner") == ["Lies", "HARRY", "tanner"]


@pytest.mark.parametrize(
    ("span", "person"),
    [("Damnnnn", False), ("Wizards", False), ("Webb Group", False), ("Mansfield Building Society", False),
     ("Kimmel", True), ("Grace", True)],
)
def test_name_like_entities_skip_elongated_inflected_and_organisations(span: str, person: bool) -> None:
    recognizer = NameLikeEntityRecognizer(ENGLISH | {"wizard", "group", "building", "society"},
                                          FIRST | {"Webb", "Mansfield"}, inflections=frozenset())
    text = f"I asked {span} about it"
    assert bool(recognizer.analyze(text, ["PERSON"], Artifacts(text, [(span, "ORGANIZATION")]))) is person


def test_grouped_phones_leave_dates_with_times_and_paths() -> None:
    recognizer = GroupedPhoneRecognizer()
    text = "Gecko/7975-02-21 16:53:15.119202 Firefox; at 2053-03-01 16:53; call 035-143.6160"
    assert [text[r.start : r.end] for r in recognizer.analyze(text, ["PHONE_NUMBER"])] == ["035-143.6160"]
