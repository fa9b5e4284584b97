"""A dataset built from realistic logs with PII planted in the user messages publishes none of it.

Issue 11: a build from 2,000 log lines with values from a public PII set held 163 of 553 planted
values verbatim (names, phones like "(37) 788-063", 15-digit cards starting 2131). Here a small
literal set in several locales is planted (``tools.planted_pii``) and every file of the built
folder (splits, parquet, lineage, rejects, manifest with its duplicate clusters, data card) and
the run summary are searched for each value and for each word of each name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.build_dataset import build_dataset
from schemas.params import DatasetParams
from tools.planted_pii import PlantedValues, ambient_text, leaked_values, planted_logs, published_texts
from tools.synthetic_logs import write_logs

pytestmark = pytest.mark.usefixtures("prefect_harness")

PLANTED = PlantedValues(
    names=[
        "Rubija Hasanović", "Johannes Varvio", "Qiumei Zhang", "Søren Kjær", "María José López",
        "Oluwaseun Adeyemi", "Aleksandra Wiśniewska", "Hamidollah Karimi", "Tecle Nyga", "Nkashama-Tshibanda",
        "Dikembe Mutombo", "Siobhán Ní Bhriain",
    ],
    phones=[
        "+49 30 901820", "(37) 788-063", "21 253 109 8211", "+33 1 42 68 53 00", "035-143.6160",
        "+81 3-5555-0199", "0708 42895109", "+7 912 345-67-89", "(415) 555-0132",
    ],
    cards=["213100000000001", "4111 1111 1111 1111", "378282246310005", "5555-5555-5555-4444", "6011000990139424"],
    emails=["rubija.h@example.ba", "j.varvio@posti.fi", "qz@mail.cn", "soren.kjaer@firma.dk", "m.lopez@correo.es"],
    addresses=[
        "221 Baker Street", "12 Rue de Rivoli", "Hauptstraße 5", "Calle Mayor 5", "Via Roma 10",
        "1600 Pennsylvania Avenue", "Kungsgatan 44",
    ],
)


@pytest.fixture(scope="module")
def planted_build(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("planted")
    corpus = planted_logs(PLANTED, 48, seed=3)
    write_logs(corpus, root / "logs", files=1, corrupt_gzip_tail=False)
    data = DatasetParams().model_dump()
    data.update(logs_dir=str(root / "logs"), out_root=str(root / "datasets"), name="planted")
    data["forget"]["deny_list"] = str(root / "deny.txt")
    data["decontaminate"]["regression_root"] = str(root / "regression")
    summary = build_dataset(params=DatasetParams.model_validate(data))
    return corpus, summary, Path(summary.out_dir)


def test_no_planted_value_anywhere_in_the_built_folder(planted_build) -> None:
    corpus, summary, out = planted_build
    published = published_texts(out, summary.model_dump_json())
    assert {"train.jsonl", "train.parquet", "rejects.jsonl", "manifest.json", "data_card.html"} <= set(published)
    assert summary.written >= 30  # the planted lines are kept, not dropped
    assert {p.entity_type for p in corpus.planted_pii} == {"name", "phone", "card", "email", "address"}
    assert {p.value for p in corpus.planted_pii} >= {v for values in PLANTED.kinds().values() for v in values}
    assert leaked_values(published, corpus.planted_pii, ambient_text(PLANTED, 48, seed=3)) == {}


def test_no_word_of_a_planted_name_survives(planted_build) -> None:
    """The first name the reply greets the customer with ("Thanks Rubija!") is redacted too."""
    _, summary, out = planted_build
    published = "\n".join(published_texts(out, summary.model_dump_json()).values())
    words = {w for name in PLANTED.names for w in re.findall(r"[^\W\d_]{3,}", name)}
    assert [w for w in sorted(words) if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", published)] == []
    assert "<PERSON_1>" in published and "<CREDIT_CARD_1>" in published and "<STREET_ADDRESS_1>" in published
