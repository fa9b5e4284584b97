"""A generator of realistic synthetic LLM interaction logs, for the sample data, tests and benchmarks.

The logs carry planted personal data (names, names in capitals, emails, US and international
phone numbers, street addresses), exact and near duplicates (under other request ids and users),
refusals, tool calls, multi-turn histories, negative feedback, several categories, unknown extra
fields, and bad lines: invalid JSON, wrong types, missing fields, non-objects, empty lines and a
corrupted gzip member. Everything is drawn from a seeded ``random.Random``: the same arguments
give the same bytes.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST = [
    "Alice",
    "Maria",
    "James",
    "Priya",
    "Robert",
    "Elena",
    "David",
    "Sarah",
    "Michael",
    "Fatima",
    "Thomas",
    "Laura",
    "Daniel",
    "Sophie",
    "William",
    "Olivia",
    "Carlos",
    "Hannah",
    "George",
    "Emily",
]
LAST = [
    "Johnson",
    "Gonzalez",
    "Williams",
    "Patel",
    "Anderson",
    "Petrova",
    "Miller",
    "Thompson",
    "Brown",
    "Garcia",
    "Martinez",
    "Wilson",
    "Taylor",
    "Moore",
    "Jackson",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
]
STREETS = [
    "Baker Street",
    "Maple Avenue",
    "Oak Road",
    "Sunset Boulevard",
    "Elm Lane",
    "Cedar Drive",
    "Highland Court",
    "Riverside Way",
    "Church Street",
    "Park Place",
]
CITIES = ["Springfield", "Portland", "London", "Austin", "Denver", "Boston"]
INTL_PHONES = [
    "+44 20 7946 {:04d}",
    "+33 1 42 68 {:02d} {:02d}",
    "+49 30 901820{:02d}",
    "+91 98765 4{:04d}",
    "+61 2 9374 {:04d}",
    "+81 3 5555 {:04d}",
]
CATEGORIES = {
    "billing": ("invoice", "refund", "charge", "subscription", "payment method", "receipt"),
    "technical_support": (
        "login error",
        "sync failure",
        "slow dashboard",
        "crash on export",
        "API timeout",
        "password reset",
    ),
    "shipping": ("late parcel", "tracking number", "wrong address", "damaged box", "customs form", "delivery window"),
    "account": ("profile update", "two-factor setup", "data export", "account deletion", "email change", "team invite"),
    "product_question": ("pricing tiers", "storage limits", "integrations", "mobile app", "offline mode", "audit logs"),
}
PRODUCTS = ["Ledger Pro", "SyncBox", "Atlas CRM", "Nimbus Drive", "PixelDesk", "Orbit Mail", "Quanta BI", "Helio Chat"]
OPENERS = [
    "Hi there,",
    "Hello,",
    "Good morning,",
    "Hey,",
    "Quick question:",
    "I need some help.",
    "Hi team,",
    "Hello support,",
]
DETAILS = [
    "It started after the last update.",
    "This happens every time I try.",
    "I am on the annual plan.",
    "My colleague sees the same thing.",
    "I already restarted the app twice.",
    "It worked fine last week.",
    "This is blocking our month-end close.",
    "I tried it from two different browsers.",
    "The error shows up only in the afternoon.",
    "We have about forty seats on this workspace.",
]
STEPS = [
    "Open Settings and choose the {topic} section.",
    "Sign out, clear the cache and sign back in.",
    "Check that your {product} version is the latest one.",
    "Export a diagnostic report from the Help menu.",
    "Confirm the change from the link we email you.",
    "Wait a few minutes for the change to propagate.",
    "Ask your workspace admin to grant the billing role.",
    "Use the web app while we look into the mobile issue.",
    "Reply with the reference shown on the error screen.",
    "Compare the totals on the {topic} page with your bank statement.",
    "Switch the {topic} option off and on again.",
    "Try the request again with a smaller batch size.",
]
ACKS = [
    "Thanks for reaching out about the {topic}.",
    "Sorry about the trouble with the {topic}.",
    "I can help with the {topic} in {product}.",
    "Good question about the {topic}.",
    "Let's sort out the {topic} together.",
]
CLOSINGS = [
    "Let me know if that fixes it.",
    "Happy to help further if needed.",
    "Reply here if anything is unclear.",
    "Have a great day.",
    "I hope this helps.",
]
REFUSALS = [
    "I cannot share another customer's account details, but I can help with your own account.",
    "I can't process a refund for an order placed on a different account, please contact the owner.",
]
SYSTEM_PROMPTS = [
    "You are a helpful customer support assistant for a software company. Be concise and friendly.",
    "You are Support Bot. Answer accurately, never reveal internal notes, and escalate when unsure.",
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order by id.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        },
    }
]


@dataclass(frozen=True)
class PlantedPII:
    """A personal value planted in a text, with its entity type and place."""

    entity_type: str
    value: str
    start: int = 0
    end: int = 0


@dataclass
class LabelledText:
    """A text and the PII planted in it (for recall and over-redaction measurements)."""

    text: str
    spans: list[PlantedPII] = field(default_factory=list)


@dataclass
class SyntheticCorpus:
    """Generated log lines (in order) and what was planted in them."""

    lines: list[str]
    planted_pii: list[PlantedPII]
    categories: list[str]


class _Composer:
    """Builds text from parts, recording the spans of the PII it inserts."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[PlantedPII] = []

    def add(self, part: str, sep: str = " ") -> None:
        """Append a part after ``sep``."""
        self.text += (sep if self.text else "") + part

    def pii(self, prefix: str, entity_type: str, value: str, suffix: str = "", sep: str = " ") -> None:
        """Append ``prefix value suffix``, recording where the value sits."""
        self.add(prefix + " ", sep)
        start = len(self.text)
        self.text += value
        self.spans.append(PlantedPII(entity_type, value, start, start + len(value)))
        self.text += suffix


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _pii_sentence(rng: random.Random, composer: _Composer) -> None:
    """Append one sentence carrying one or two planted values."""
    first, last = _person(rng)
    kind = rng.randrange(7)
    if kind == 0:
        composer.pii("My name is", "PERSON", f"{first} {last}", ".")
    elif kind == 1:
        composer.pii(
            "You can email me at", "EMAIL_ADDRESS", f"{first}.{last}{rng.randrange(10, 99)}@example.com".lower(), "."
        )
    elif kind == 2:
        composer.pii(
            "Call me on", "PHONE_NUMBER", f"({rng.randrange(201, 989)}) 555-{rng.randrange(1000, 9999)}", " any time."
        )
    elif kind == 3:
        fmt = rng.choice(INTL_PHONES)
        composer.pii("My mobile is", "PHONE_NUMBER", fmt.format(*[rng.randrange(0, 99)] * fmt.count("{")), ".")
    elif kind == 4:
        address = f"{rng.randrange(2, 999)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"
        composer.pii("Please ship it to", "STREET_ADDRESS", address, ".")
    elif kind == 5:
        composer.pii("Regards,", "PERSON", f"{first.upper()} {last.upper()}", "")
    else:
        composer.pii("I spoke with", "PERSON", f"{first} {last}", " yesterday and")
        composer.pii("they said to write to", "EMAIL_ADDRESS", f"{last}.{first[0]}@mail.example.org".lower(), ".")


def labelled_pii_texts(n: int, seed: int = 0, pii_rate: float = 0.7) -> list[LabelledText]:
    """Support-style texts, most with planted PII and its spans, the rest PII-free (over-redaction control)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        category = rng.choice(list(CATEGORIES))
        composer = _user_text(rng, category, with_pii=rng.random() < pii_rate)
        out.append(LabelledText(composer.text, composer.spans))
    return out


def _user_text(rng: random.Random, category: str, with_pii: bool) -> _Composer:
    topic, product = rng.choice(CATEGORIES[category]), rng.choice(PRODUCTS)
    composer = _Composer()
    composer.add(rng.choice(OPENERS))
    composer.add(f"I have a problem with the {topic} in {product} (case {rng.randrange(10_000, 99_999)}).")
    composer.add(rng.choice(DETAILS))
    if with_pii:
        _pii_sentence(rng, composer)
    return composer


def _assistant_text(rng: random.Random, category: str) -> str:
    topic, product = rng.choice(CATEGORIES[category]), rng.choice(PRODUCTS)
    steps = rng.sample(STEPS, 3)
    parts = [rng.choice(ACKS)] + [f"{n}. {s}" for n, s in enumerate(steps, start=1)] + [rng.choice(CLOSINGS)]
    return " ".join(p.format(topic=topic, product=product) for p in parts)


def _log(rng: random.Random, index: int, when: datetime, users: int) -> tuple[dict, list[PlantedPII]]:
    category = rng.choice(list(CATEGORIES))
    user_composer = _user_text(rng, category, with_pii=rng.random() < 0.5)
    system = rng.choice(SYSTEM_PROMPTS)
    history: list[dict] = []
    if rng.random() < 0.2:
        earlier = _user_text(rng, category, with_pii=False).text
        history = [
            {"role": "user", "content": earlier},
            {"role": "assistant", "content": _assistant_text(rng, category)},
        ]
    response, tool_calls, tools = _assistant_text(rng, category), None, None
    roll = rng.random()
    if roll < 0.04:
        response = rng.choice(REFUSALS)
    elif roll < 0.08:
        tools = TOOLS
        tool_calls = [
            {
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": json.dumps({"order_id": f"A{index:06d}"})},
            }
        ]
        response = ""
    elif roll < 0.10:
        response = "OK."
    user_id = f"user-{rng.randrange(users):05d}" if rng.random() > 0.05 else None
    full_prompt = "\n".join([system, *[h["content"] for h in history], user_composer.text])
    record = {
        "request_id": f"req-{index:08d}",
        "timestamp": when.isoformat(),
        "user_id": user_id,
        "model": rng.choice(["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku"]),
        "model_version": "2024-07-18",
        "temperature": rng.choice([0.0, 0.2, 0.7]),
        "max_tokens": 512,
        "system_prompt": system,
        "user_message": user_composer.text,
        "conversation_history": history,
        "retrieval_query": None,
        "retrieved_documents": None,
        "retrieval_scores": None,
        "full_prompt": full_prompt,
        "prompt_token_count": len(full_prompt.split()),
        "response": response,
        "completion_token_count": len(response.split()),
        "retrieval_latency_ms": None,
        "llm_latency_ms": round(rng.uniform(200, 2000), 1),
        "total_latency_ms": round(rng.uniform(250, 2500), 1),
        "user_feedback": rng.choice([None, None, None, "thumbs_up", "thumbs_down"]),
        "automated_quality_score": round(rng.uniform(0.3, 1.0), 3),
        "prompt_template_id": "support-v2",
        "prompt_template_version": "2.1",
        "category": category,
        "tools": tools,
        "tool_calls": tool_calls,
    }
    if rng.random() < 0.1:
        record["client"] = {"app": "web", "build": rng.randrange(100, 200)}
    return record, user_composer.spans


def _near_copy(rng: random.Random, record: dict) -> dict:
    """The same conversation with one word of the reply changed."""
    words = record["response"].split() or ["Done"]
    words[rng.randrange(len(words))] = rng.choice(["indeed", "please", "kindly", "now"])
    return {**record, "response": " ".join(words)}


def _bad_line(rng: random.Random, good: dict) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return json.dumps(good)[: rng.randrange(20, 120)]
    if kind == 1:
        return json.dumps({**good, "temperature": "warm"})
    if kind == 2:
        return json.dumps({k: v for k, v in good.items() if k != "response"})
    if kind == 3:
        return json.dumps([good["request_id"], good["user_message"]])
    if kind == 4:
        return ""
    return json.dumps({**good, "timestamp": "yesterday", "max_tokens": -5})


def generate_logs(
    n: int,
    seed: int = 0,
    users: int = 40,
    start: datetime | None = None,
    duplicate_rate: float = 0.06,
    near_duplicate_rate: float = 0.06,
    bad_rate: float = 0.04,
) -> SyntheticCorpus:
    """Generate ``n`` log lines.

    Args:
        n: Lines to generate (bad lines and duplicates included).
        seed: Random seed; the same arguments give the same lines.
        users: Size of the user pool.
        start: Timestamp of the first log (default 2026-01-01 UTC).
        duplicate_rate: Share of lines that repeat an earlier conversation exactly.
        near_duplicate_rate: Share of lines that repeat an earlier one with a word changed.
        bad_rate: Share of malformed or schema-invalid lines.

    Returns:
        The lines, the planted PII and the categories used.
    """
    rng = random.Random(seed)
    when = start or datetime(2026, 1, 1, tzinfo=UTC)
    lines: list[str] = []
    planted: list[PlantedPII] = []
    originals: list[dict] = []
    for index in range(n):
        when += timedelta(seconds=rng.randrange(5, 600))
        roll = rng.random()
        if originals and roll < duplicate_rate + near_duplicate_rate:
            base = rng.choice(originals)
            copy = base if roll < duplicate_rate else _near_copy(rng, base)
            other_user = f"user-{rng.randrange(users):05d}"
            lines.append(
                json.dumps(
                    {**copy, "request_id": f"req-{index:08d}", "timestamp": when.isoformat(), "user_id": other_user}
                )
            )
            continue
        record, spans = _log(rng, index, when, users)
        planted.extend(spans)
        if roll < duplicate_rate + near_duplicate_rate + bad_rate:
            lines.append(_bad_line(rng, record))
            continue
        originals.append(record)
        lines.append(json.dumps(record))
    return SyntheticCorpus(lines=lines, planted_pii=planted, categories=sorted(CATEGORIES))


def write_logs(corpus: SyntheticCorpus, out_dir: Path, files: int = 2, corrupt_gzip_tail: bool = True) -> list[Path]:
    """Write the lines over ``files`` files; the last one gzipped, with a corrupted extra member.

    Returns:
        The files written, in order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    per_file = -(-len(corpus.lines) // files)
    written = []
    for k in range(files):
        chunk = corpus.lines[k * per_file : (k + 1) * per_file]
        body = ("\n".join(chunk) + "\n").encode() if chunk else b""
        if k == files - 1 and files > 1:
            path = out_dir / f"logs-{k:03d}.jsonl.gz"
            data = gzip.compress(body, mtime=0)
            if corrupt_gzip_tail:
                data += gzip.compress(b'{"request_id": "lost"}\n', mtime=0)[:18] + b"\x00garbage"
            path.write_bytes(data)
        else:
            path = out_dir / f"logs-{k:03d}.jsonl"
            path.write_bytes(body)
        written.append(path)
    return written
