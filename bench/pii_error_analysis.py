"""Where our redaction errs on the public PII sets: over-redacted words by recognizer, missed gold spans.

For each set of ``bench_pii_public`` the pipeline's analyzer runs in this process (so every finding
keeps its recognizer's name), echoes are added as the redactor adds them, and the text is redacted.
A word outside every gold span that is absent from the output (the README's over-redaction) is
attributed to the recognizers whose findings cover one of its occurrences (``Echo`` for echoes);
"alone" counts the words only that recognizer removed (what dropping it would give back).
Missed direct-identifier spans are listed with the findings that touched them.

    PYTHONPATH=. .venv/bin/python bench/pii_error_analysis.py [--sets btc-dev ambientmeta] [--examples 12] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.bench_pii_public import DIRECT, WORD, Item, load_sets  # noqa: E402
from schemas.params import RedactParams  # noqa: E402


def recognizer_of(finding) -> str:
    """The recognizer a finding came from (``Echo`` for an echo, which carries no metadata)."""
    meta = finding.recognition_metadata or {}
    return meta.get("recognizer_name") or "Echo"


def word_kind(word: str, text: str, start: int) -> str:
    """A coarse shape of an over-redacted word at ``text[start:]``: url, handle, hashtag, number, ..."""
    before = text[max(0, start - 40) : start]
    token_start = max(before.rfind(" "), before.rfind("\n")) + 1
    token = before[token_start:] + text[start : start + len(word) + 40].split(" ")[0]
    if "http" in token or "www." in token or "/" in token:
        return "url"
    if token.startswith("@"):
        return "handle"
    if token.startswith("#"):
        return "hashtag"
    if any(c.isdigit() for c in word):
        return "number"
    if word.isupper():
        return "CAPS"
    if word[0].isupper():
        return "Capitalised"
    return "lower"


def analyse(items: list[Item], direct: set[str], params: RedactParams, n_examples: int) -> dict:
    """Over-redacted words by recognizer / entity / shape, and missed spans, for one set."""
    from tasks.pii.batched import analyze_unique
    from tasks.pii.echoes import with_echoes
    from tasks.pii.placeholders import PlaceholderBook, redact_text
    from tasks.pii.redact import common_words

    texts = [i.text for i in items]
    findings = analyze_unique(list(dict.fromkeys(texts)), params)
    common = common_words(params)
    by_source, alone, by_kind = Counter(), Counter(), Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    missed: list[dict] = []
    outside_total = 0
    for item in items:
        local = with_echoes([item.text], findings, common).get(item.text, [])
        out = redact_text(item.text, local, PlaceholderBook()) if local else item.text
        out_words = set(WORD.findall(out))
        mask = [False] * len(item.text)
        for s, e, _ in item.spans:
            mask[s:e] = [True] * (e - s)
        outside = "".join(c if not m else " " for c, m in zip(item.text, mask, strict=True))
        gold_words = {w for s, e, _ in item.spans for w in WORD.findall(item.text[s:e])}
        judged = set(WORD.findall(outside)) - gold_words
        outside_total += len(judged)
        for m in WORD.finditer(outside):
            word = m.group()
            if word not in judged or word in out_words:
                continue
            judged.discard(word)  # each distinct word of a text counts once, as the score does
            covering = [f for f in local if f.start < m.end() and m.start() < f.end]
            sources = sorted({f"{f.entity_type}/{recognizer_of(f)}" for f in covering}) or ["?"]
            for source in sources:
                by_source[source] += 1
                if len(examples[source]) < n_examples:
                    context = item.text[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
                    examples[source].append(f"{word!r} in …{context}…")
            if len(sources) == 1:
                alone[sources[0]] += 1
            by_kind[word_kind(word, item.text, m.start())] += 1
        for s, e, kind in item.spans:
            if kind not in direct:
                continue
            words = [w for w in WORD.findall(item.text[s:e]) if w not in set(WORD.findall(outside))]
            if words and sum(w not in out_words for w in words) < 0.8 * len(words):
                touched = sorted({f"{f.entity_type}/{recognizer_of(f)}" for f in local if f.start < e and s < f.end})
                missed.append({"span": item.text[s:e], "type": kind, "touched": touched,
                               "context": item.text[max(0, s - 40) : e + 40].replace("\n", " ")})
    removed = sum(by_kind.values())
    return {
        "outside_words": outside_total,
        "over_redacted_words": removed,
        "over_redaction": round(removed / max(outside_total, 1), 4),
        "by_source": {k: [v, round(v / max(outside_total, 1), 4), alone[k]] for k, v in by_source.most_common()},
        "by_shape": {k: [v, round(v / max(outside_total, 1), 4)] for k, v in by_kind.most_common()},
        "examples": dict(examples),
        "missed": missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(DIRECT))
    parser.add_argument("--examples", type=int, default=12, help="examples kept per source")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sets = load_sets(None)
    params = RedactParams()
    report = {name: analyse(sets[name], DIRECT[name], params, args.examples) for name in args.sets}
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.json:
        args.json.write_text(text)
    for name, r in report.items():
        print(f"== {name}: over-redaction {r['over_redaction']} ({r['over_redacted_words']}/{r['outside_words']})")
        print("  source [words, share, alone]:", json.dumps(r["by_source"], ensure_ascii=False))
        print("  shape:", r["by_shape"])
        print(f"  missed spans: {len(r['missed'])}")


if __name__ == "__main__":
    main()
