"""Realistic interaction logs with given personal values planted in the user's messages, for leak checks.

The records are those of ``tools.synthetic_logs`` (same schema, categories, duplicates of nothing);
each user message is rewritten from a template that carries one to four of the given values
(names, phone numbers, card numbers, e-mail addresses, street addresses) the way customers write
them: introductions, form-like blocks, signatures, several languages. The assistant's reply greets
the customer by first name, as support replies do, so a name also appears in a second message.
The values are the caller's (literal ones in a test, values drawn from public labelled sets in a
benchmark): ``planted_pii`` lists every value planted, with its kind.
"""

from __future__ import annotations

import html
import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tools.synthetic_logs import PlantedPII, SyntheticCorpus, _assistant_text, _log

TEMPLATES: tuple[str, ...] = (
    "Hi, my name is {name}. My card {card} was charged twice this month, please call me on {phone}.",
    "{name} here. I moved to {address}, please update my delivery address and send the invoice to {email}.",
    "Hello, this is {name} ({email}). The payment with card number {card} failed again.",
    "Please ship the replacement to {address}. Contact: {name}, {phone}.",
    "Customer: {name}\nPhone: {phone}\nCard: {card}\nAddress: {address}\nIssue: the export keeps failing.",
    "I talked to {name} from your team yesterday, they said to write to {email} about the refund.",
    "Bonjour, je m'appelle {name}. Mon numéro est le {phone} et mon adresse {address}.",
    "Hola, soy {name}, mi correo es {email} y mi teléfono {phone}. No puedo iniciar sesión.",
    "Hallo, ich bin {name}. Bitte senden Sie die Rechnung an {email}, Karte {card}.",
    "my colleague {name} gave me this number {phone}, can you check why {card} was declined?",
    "The account is registered to {name}, billing address {address}. Thanks, {name}",
    "Can you update the email on file to {email}? Regards, {name}",
)


@dataclass(frozen=True)
class PlantedValues:
    """The values to plant, by kind; each list needs at least one value."""

    names: list[str]
    phones: list[str]
    cards: list[str]
    emails: list[str]
    addresses: list[str]

    def kinds(self) -> dict[str, list[str]]:
        """``kind -> values`` (``name``, ``phone``, ``card``, ``email``, ``address``)."""
        return {"name": self.names, "phone": self.phones, "card": self.cards, "email": self.emails,
                "address": self.addresses}


@dataclass
class _Cycler:
    """Hands out the values of each kind in a shuffled round, so every value is planted."""

    rng: random.Random
    pools: dict[str, list[str]]
    queues: dict[str, list[str]] = field(default_factory=dict)

    def next(self, kind: str) -> str:
        if not self.queues.get(kind):
            self.queues[kind] = self.rng.sample(self.pools[kind], len(self.pools[kind]))
        return self.queues[kind].pop()


def planted_logs(values: PlantedValues, n: int, seed: int = 0, users: int = 40) -> SyntheticCorpus:
    """``n`` valid log lines whose user messages carry ``values`` (each value at least once when ``n`` allows).

    Args:
        values: The personal values to plant.
        n: Log lines to write.
        seed: Random seed; the same arguments give the same lines.
        users: Size of the user pool.

    Returns:
        The lines and the planted values (``entity_type`` is the kind: name, phone, card, email, address).
    """
    rng = random.Random(seed)
    cycler = _Cycler(rng, values.kinds())
    when = datetime(2026, 2, 1, tzinfo=UTC)
    lines: list[str] = []
    planted: list[PlantedPII] = []
    for index in range(n):
        when += timedelta(seconds=rng.randrange(5, 600))
        record, _ = _log(rng, index, when, users)
        template = TEMPLATES[index % len(TEMPLATES)]
        chosen = {kind: cycler.next(kind) for kind in ("name", "phone", "card", "email", "address") if f"{{{kind}}}" in template}
        message = template.format(**chosen)
        planted += [PlantedPII(kind, value) for kind, value in chosen.items()]
        first = chosen.get("name", "").split()[0] if chosen.get("name") else ""
        response = f"Thanks {first}! " + _assistant_text(rng, record["category"]) if first else record["response"]
        full_prompt = "\n".join([record["system_prompt"], *[h["content"] for h in record["conversation_history"]], message])
        record.update(
            user_message=message,
            full_prompt=full_prompt,
            prompt_token_count=len(full_prompt.split()),
            response=response,
            completion_token_count=len(response.split()),
            tools=None,
            tool_calls=None,
            user_feedback=None,
        )
        lines.append(json.dumps(record, ensure_ascii=False))
    return SyntheticCorpus(lines=lines, planted_pii=planted, categories=sorted({json.loads(x)["category"] for x in lines}))


def ambient_text(values: PlantedValues, n: int, seed: int = 0, users: int = 40) -> str:
    """The lines ``planted_logs`` writes for these arguments with every planted value left out.

    That is the text the logs carry anyway (templates, replies, product names): the same lines are
    generated with each value replaced by a blank of its own (the random choices depend only on how
    many values each kind has), so a value that is also a word of the templates (the name "Ledger"
    beside the product "Ledger Pro") is found there and not taken for a leak.
    """
    blanks = PlantedValues(*(["_"] * len(v) for v in (values.names, values.phones, values.cards, values.emails, values.addresses)))
    return "\n".join(planted_logs(blanks, n, seed=seed, users=users).lines)


def _occurs(value: str, folded_text: str) -> bool:
    """``value`` in ``folded_text`` (already casefolded) as whole words (``str.find``: fast on large text)."""
    needle, start = value.casefold(), 0
    while (at := folded_text.find(needle, start)) >= 0:
        end = at + len(needle)
        if (at == 0 or not folded_text[at - 1].isalnum()) and (end == len(folded_text) or not folded_text[end].isalnum()):
            return True
        start = at + 1
    return False


def published_texts(out: Path, summary_json: str) -> dict[str, str]:
    """Every file of a built dataset folder as text, and the run summary, for ``leaked_values``.

    Parquet files are given as their rows in JSON; HTML files (the data card) with their entities
    decoded, so that ``&gt;`` is not read as a word and an escaped value (``O&#x27;Brien``) is found.
    """
    import pyarrow.parquet as pq

    texts = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            text = json.dumps(pq.read_table(p).to_pylist(), ensure_ascii=False)
        else:
            text = p.read_text(errors="replace")
            text = html.unescape(text) if p.suffix == ".html" else text
        texts[str(p.relative_to(out))] = text
    texts["summary"] = summary_json
    return texts


def leaked_values(published: dict[str, str], planted: list[PlantedPII], ambient: str = "") -> dict[str, set[str]]:
    """``kind -> values`` found verbatim (whole words, ignoring case) in any published text.

    Args:
        published: ``name -> text`` of everything in the dataset folder.
        planted: The planted values.
        ambient: Text the logs carry outside the planted values (``ambient_text``): a value that
            also occurs there (a name such as ``Link`` or ``Grant``) cannot be told apart and is skipped.
    """
    haystack, ambient = "\n".join(published.values()).casefold(), ambient.casefold()
    leaks: dict[str, set[str]] = {}
    for kind, value in sorted({(p.entity_type, p.value) for p in planted}):
        if _occurs(value, haystack) and not (ambient and _occurs(value, ambient)):
            leaks.setdefault(kind, set()).add(value)
    return leaks
