"""Our recognizers on literal examples (hits and non-hits), and planted PII leaving a dataset-style redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.params import RedactParams
from tasks.pii.recognizers import (
    CuedNameRecognizer,
    GroupedPhoneRecognizer,
    LuhnCardRecognizer,
    id_number_recognizer,
    user_handle_recognizer,
)
from tasks.pii.redact import analyze_texts, redact_examples

PARAMS = RedactParams()


def _spans(recognizer, text: str, entity: str) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, [entity]) if r.score >= PARAMS.score_threshold]


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
    assert name in _spans(CuedNameRecognizer(), text, "PERSON")


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
    assert _spans(CuedNameRecognizer(), text, "PERSON") == []


def test_user_handles_hit_and_emails_do_not() -> None:
    recognizer = user_handle_recognizer()
    assert _spans(recognizer, "RT @NikoWavy: great game @dave_s77", "PERSON") == ["@NikoWavy", "@dave_s77"]
    assert _spans(recognizer, "write to ana@example.com", "PERSON") == []


def test_id_numbers() -> None:
    recognizer = id_number_recognizer()
    text = "Records MRN-780498, H1905301 and account 484742703 on 2024-03-01, room 12, v2.10.3"
    assert _spans(recognizer, text, "ID_NUMBER") == ["MRN-780498", "H1905301", "484742703"]


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
