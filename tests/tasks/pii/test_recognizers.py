"""Our recognizers and echoes on literal examples (hits and non-hits), and planted PII leaving a dataset-style redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.params import RedactParams
from presidio_analyzer import RecognizerResult

from tasks.pii.echoes import with_echoes
from tasks.pii.recognizers import (
    CuedNameRecognizer,
    GazetteerNameRecognizer,
    GroupedPhoneRecognizer,
    LuhnCardRecognizer,
    NameLikeEntityRecognizer,
    id_number_recognizer,
    international_phone_recognizer,
    international_street_recognizer,
    person_name_gazetteer,
    street_address_recognizer,
    user_handle_recognizer,
)
from tasks.pii.redact import analyze_texts, redact_examples
from tests.tasks.pii.entities import Artifacts

PARAMS = RedactParams()


def _spans(recognizer, text: str, entity: str) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, [entity]) if r.score >= PARAMS.score_threshold]


def _cued(text: str) -> list[str]:
    """Names after cues: the greeting, title and verb cues, then the form fields (two recognizers)."""
    return _spans(CuedNameRecognizer(), text, "PERSON") + _spans(CuedNameRecognizer(fields=True), text, "PERSON")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hello Sardagna, kindly confirm your booking.", "Sardagna"),
        ("Fill out the details<br>Name: Müge<br>Gender: Non-binary", "Müge"),
        ("Patient: Hadda\nFindings: Jaw pain", "Hadda"),
        ("Directed By: Johannes Varvio", "Johannes Varvio"),
        ("my name is Rubija and I need help", "Rubija"),
        ("Please ask Dr. Okonkwo about it.", "Okonkwo"),
        ("Qiumei, good news! Your parcel left.", "Qiumei"),
        ("The form was registered to Dragusanu yesterday.", "Dragusanu"),
    ],
)
def test_cued_names_hit(text: str, name: str) -> None:
    assert name in _cued(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi All, the build is green.",
        "Hello there, how are you?",
        "However, it works on my machine.",
        "Thanks Team for the help.",
        "my name is not important",
        "Name: 12345",
        "Unfortunately, the parcel is late.",
    ],
)
def test_cued_names_miss_common_words(text: str) -> None:
    assert _cued(text) == []


def test_user_handles_hit_and_emails_do_not() -> None:
    recognizer = user_handle_recognizer()
    assert _spans(recognizer, "RT @NikoWavy: great game @dave_s77", "PERSON") == ["@NikoWavy", "@dave_s77"]
    assert _spans(recognizer, "write to ana@example.com", "PERSON") == []


def test_id_numbers() -> None:
    recognizer = id_number_recognizer()
    text = "Records MRN-780498, H1905301 and account 484742703 on 2024-03-01, room 12, v2.10.3"
    assert _spans(recognizer, text, "ID_NUMBER") == ["MRN-780498", "H1905301", "484742703"]
    text = "this number 017948040.4271, or 123456789. Not 12345678.50 or 1234567890.1.2"
    assert sorted(_spans(recognizer, text, "ID_NUMBER")) == ["017948040.4271", "123456789"]


def test_luhn_cards_whatever_the_prefix() -> None:
    recognizer = LuhnCardRecognizer()
    # 15-digit JCB-style number starting 2131 (Luhn-valid), a Visa test number, and a Luhn-invalid run
    text = "cards 213100000000001 and 4111 1111 1111 1111 but not 4111 1111 1111 1112"
    assert _spans(recognizer, text, "CREDIT_CARD") == ["213100000000001", "4111 1111 1111 1111"]


def test_grouped_phones_and_what_they_are_not() -> None:
    recognizer = GroupedPhoneRecognizer()
    text = "call 035-143.6160 or 00.76 17 65 84 or (37) 788-063 12; not 2053-03-01, 192.168.100.200 or 12 34"
    assert _spans(recognizer, text, "PHONE_NUMBER") == ["035-143.6160", "00.76 17 65 84", "(37) 788-063 12"]


def test_lower_case_and_capitalised_names_through_the_ner() -> None:
    texts = ["i talked to john smith yesterday about the invoice", "Regards, MARIA GONZALEZ"]
    findings = analyze_texts(texts, PARAMS)
    found = {t: {t[r.start : r.end] for r in findings[t] if r.entity_type == "PERSON"} for t in texts}
    assert any("john" in v for v in found[texts[0]]), found
    assert "MARIA GONZALEZ" in found[texts[1]]
    assert not analyze_texts(["the invoice is due next week"], PARAMS)["the invoice is due next week"]


PLANTED = {
    "names": ["Rubija Hasanović", "Johannes Varvio", "Qiumei Zhang", "Dikembe Mutombo", "Søren Kjær", "María López"],
    "phones": ["+49 30 901820", "(37) 788-063 12", "21 253 109 8211", "+33 1 42 68 53 00", "035-143.6160"],
    "cards": ["213100000000001", "4111 1111 1111 1111", "378282246310005"],
    "emails": ["rubija.h@example.ba", "j.varvio@posti.fi", "qz@mail.cn"],
    "handles": ["@NikoWavy"],
    "addresses": ["221 Baker Street", "12 Rue de Rivoli"],
}


def _planted_examples() -> list[ChatExample]:
    templates = [
        ("user", "Hi, my name is {name}. Call me on {phone} or write to {email}."),
        ("assistant", "Thanks {name}, we will call {phone}."),
        ("user", "Please charge card {card} and ship to {address}. Ask {handle} too."),
    ]
    examples = []
    for i in range(6):
        values = {
            "name": PLANTED["names"][i % 6],
            "phone": PLANTED["phones"][i % 5],
            "email": PLANTED["emails"][i % 3],
            "card": PLANTED["cards"][i % 3],
            "address": PLANTED["addresses"][i % 2],
            "handle": PLANTED["handles"][0],
        }
        messages = tuple(ChatMessage(role=r, content=t.format(**values)) for r, t in templates)
        examples.append(
            ChatExample(
                example_id=f"x{i}",
                messages=messages,
                group_hash="g",
                timestamp=datetime(2026, 1, 1, tzinfo=UTC),
                lineage=Lineage(request_id=f"r{i}", source="a.jsonl", line=i + 1),
            )
        )
    return examples


def test_planted_values_do_not_survive_a_dataset_redaction() -> None:
    """Names, phones, cards, e-mails, handles and street numbers in several locales: none left verbatim."""
    redacted = redact_examples(_planted_examples(), PARAMS).examples
    published = "\n".join(m.content for ex in redacted for m in ex.messages)
    leaked = [v for kind, values in PLANTED.items() if kind != "addresses" for v in values if v in published]
    assert leaked == [], published
    # a name's words do not survive on their own either
    assert not [w for n in PLANTED["names"] for w in n.split() if w in published], published
    assert "221 Baker Street" not in published


ENGLISH = frozenset({"will", "mark", "rose", "grant", "trump", "the", "group", "mail", "orbit", "paris", "google"})
FIRST = frozenset({"Wendy", "Michelle", "Tanner", "Kylie", "Alan", "Will", "Mark", "Rose", "Jason", "Donald"})
LAST = frozenset({"Minogue", "Pardew", "Smith"})


def _gazetteer_spans(text: str) -> list[str]:
    recognizer = GazetteerNameRecognizer(ENGLISH, FIRST, LAST)
    return _spans(recognizer, text, "PERSON")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("That's probably Wendy's biggest dream", ["Wendy"]),
        ("WAS THAT MICHELLE !", ["MICHELLE"]),
        ("hey tanner is your last name fox", ["tanner"]),
        ("I'm getting a garbage, Kylie minogue feel", ["Kylie minogue"]),
        ("Michelle Obama spoke", ["Michelle Obama"]),
        ("Hopefully silence will prevail #AlanPardew", ["#AlanPardew"]),
    ],
)
def test_gazetteer_names_hit(text: str, names: list[str]) -> None:
    assert _gazetteer_spans(text) == names


@pytest.mark.parametrize(
    "text",
    [
        "Will you Mark the Rose Grant as done?",  # first names that are English words
        "the mail group",
        "Donald trump",  # a known first name is found, the English word after it is not joined
        "#TeamSpirit all the way",
        "wendyhouse and michelle@example.com",
    ],
)
def test_gazetteer_leaves_english_words(text: str) -> None:
    found = _gazetteer_spans(text)
    assert all(w.casefold() not in ENGLISH for span in found for w in span.split()), found
    assert "michelle" not in " ".join(found)


def test_the_gazetteer_comes_from_fakers_locales() -> None:
    first, last = person_name_gazetteer()
    assert {"Rubija", "Wendy", "Qiumei"} & first and {"Minogue", "Kowalski"} & last
    assert len(first) > 10_000 and len(last) > 10_000


@pytest.mark.parametrize(
    ("span", "label", "person"),
    [
        ("Kimmel", "ORGANIZATION", True),  # no English word
        ("Hamidollah", "LOCATION", True),
        ("Jason", "ORGANIZATION", True),  # a first name, though an English word
        ("Nkashama-Tshibanda", "ORGANIZATION", True),
        ("Google", "ORGANIZATION", False),
        ("Orbit Mail", "ORGANIZATION", False),
        ("Paris", "LOCATION", False),
        ("PixelDesk", "ORGANIZATION", False),  # inner capital: a product
        ("API", "ORGANIZATION", False),
        ("Jenkins Group", "ORGANIZATION", False),
    ],
)
def test_name_like_spacy_entities(span: str, label: str, person: bool) -> None:
    recognizer = NameLikeEntityRecognizer(ENGLISH | {"api", "jenkins"}, FIRST)
    text = f"I asked {span} about it"
    found = recognizer.analyze(text, ["PERSON"], Artifacts(text, [(span, label)]))
    assert bool(found) is person


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Livraison au 12 Rue de Rivoli, Paris", "12 Rue de Rivoli"),
        ("Spedire a Via Roma 10, Milano", "Via Roma 10"),
        ("Calle Mayor 5, 3º", "Calle Mayor 5"),
        ("Bitte an Hauptstraße 5 in Berlin", "Hauptstraße 5"),
        ("I live at Kungsgatan 44 B, Stockholm", "Kungsgatan 44 B"),
        ("ul. Długa 3, Gdańsk", "ul. Długa 3"),
        ("Avenida da Liberdade 245", "Avenida da Liberdade 245"),
    ],
)
def test_international_streets_hit(text: str, address: str) -> None:
    assert _spans(international_street_recognizer(), text, "STREET_ADDRESS") == [address]


@pytest.mark.parametrize(
    "text",
    ["la rue est belle", "we went via Roma", "sent 2 via Slack", "Place Vendôme", "Spring 2024 release",
     "logged via MAC Address 10"],
)
def test_international_streets_need_a_number_and_a_street_word(text: str) -> None:
    assert _spans(international_street_recognizer(), text, "STREET_ADDRESS") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("<p>Lead Educator: Pouran</p>", "Pouran"),
        ("Borrower: Plörer", "Plörer"),
        ("The study was evaluated by Senová of Robinson PLC", "Senová"),
    ],
)
def test_cued_names_after_roles_and_verbs(text: str, name: str) -> None:
    assert name in _cued(text)


def test_echoes_redact_a_name_where_it_recurs_without_a_cue() -> None:
    """A name found once ("my name is Rubija Hasanović") is redacted again in another message ("Thanks Rubija")."""
    texts = ["Hi, my name is Rubija Hasanović.", "Thanks Rubija! And thanks, Will.", "Will it ship?"]
    findings = {texts[0]: [RecognizerResult("PERSON", 15, 31, 0.6)]}
    echoed = with_echoes(texts, findings, common=frozenset({"will"}))
    assert [texts[1][r.start : r.end] for r in echoed[texts[1]]] == ["Rubija"]
    assert echoed[texts[2]] == [] and echoed[texts[0]] == findings[texts[0]]


def test_echoes_reach_every_message_of_a_redacted_example() -> None:
    example = _planted_examples()[0]
    messages = (*example.messages, ChatMessage(role="assistant", content="Have a nice day, Rubija."))
    redacted = redact_examples([example.model_copy(update={"messages": messages})], PARAMS).examples[0]
    assert "Rubija" not in " ".join(m.content for m in redacted.messages)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Bonjour, je m'appelle Amélie Poulain.", "Amélie Poulain"),
        ("Hola, soy Rubija, mi correo es r@example.ba", "Rubija"),
        ("Hallo, ich bin Jürgen Weiß.", "Jürgen Weiß"),
        ("Ciao Giulia, ecco il link.", "Giulia"),
    ],
)
def test_cued_names_in_other_languages(text: str, name: str) -> None:
    spans = _cued(text)
    assert name in spans and not {"Hola", "Bonjour", "Hallo", "Ciao"} & set(spans)


def test_bracketed_area_codes() -> None:
    recognizer = international_phone_recognizer()
    text = "phones (37) 788-063 and (0621) 555-0199, not (2019) or (12) 34-56"
    assert _spans(recognizer, text, "PHONE_NUMBER") == ["(37) 788-063", "(0621) 555-0199"]


def test_a_person_echo_takes_in_the_rest_of_the_name() -> None:
    texts = ["Thanks Siobhán!", "my colleague Siobhán Ní Bhriain gave me this number, Siobhán Please call"]
    echoed = with_echoes(texts, {texts[0]: [RecognizerResult("PERSON", 7, 14, 0.6)]}, common=frozenset())
    assert [texts[1][r.start : r.end] for r in echoed[texts[1]]] == ["Siobhán Ní Bhriain", "Siobhán"]


def test_street_addresses_with_the_number_after_and_lower_case_prose() -> None:
    """The street words were matched ignoring case (presidio's flag): "5 days on the road" was an address."""
    recognizer = street_address_recognizer()
    text = "ship to Dot Road 131 or 12 Oak Road, apt 4; not 5 days on the road, nor We Walk 5 miles"
    assert sorted(_spans(recognizer, text, "STREET_ADDRESS")) == ["12 Oak Road, apt 4", "Dot Road 131"]
