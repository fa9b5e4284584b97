"""Planted-PII leak check at scale: a dataset built from logs carrying values of the public PII sets.

Values (read from ``../shared/benchmarks/pii/``, never copied into the repo):
  * names: AmbientMeta PERSON, Broad Twitter Corpus PER and WNUT-17 person spans of one to three
    capitalised words (no handles, hashtags or digits; not a title alone, ``Mr``, ``Officer``: label
    noise of the sets), in many locales;
  * phones, cards, e-mails: AmbientMeta PHONE, CREDIT_CARD, EMAIL spans;
  * addresses: AmbientMeta LOCATION spans that are streets ("Old Cemetery Road"), given a house
    number, written ``12 Old Cemetery Road`` or, one in three, ``Old Cemetery Road 12``.
They are planted in realistic log lines (``tools.planted_pii``: templates in several languages, the
reply greeting the customer by first name), the real ``build_dataset`` flow runs on them, and every
file of the built folder (splits, parquet, lineage, rejects, manifest with clusters, data card) plus
the run summary is searched for each planted value (verbatim, whole words, ignoring case; a value
the logs also carry outside the planted places, such as the name "Link", is not judged) and each word of each
planted name (whole word, case kept) that the logs do not also carry outside the planted values.

    PYTHONPATH=. .venv/bin/python bench/bench_pii_planted.py [--lines 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from bench.bench_pii_public import DATA, read_ambientmeta, read_conll  # noqa: E402
from tools.planted_pii import PlantedValues, _occurs, ambient_text, leaked_values, planted_logs, published_texts  # noqa: E402

STREET_WORDS = ("road", "street", "lane", "way", "close", "boulevard", "avenue", "trail", "grove", "view", "drive",
                "court", "place", "crescent", "hill", "row", "walk", "gardens", "terrace", "square", "park")


TITLES = frozenset("mr mrs ms miss mx dr prof sir madam dame officer judge captain sergeant detective doctor nurse".split())
"""Words the sets' annotators sometimes labelled as a person on their own (``Mr``, ``Officer``): a title names no one."""


def _is_name(value: str) -> bool:
    words = value.split()
    return (1 <= len(words) <= 3 and all(w[0].isupper() and w.replace("-", "").replace("'", "").isalpha() for w in words)
            and not all(w.casefold().rstrip(".") in TITLES for w in words))


def public_values(seed: int = 0) -> PlantedValues:
    """The values to plant, from the public sets' gold spans (deduplicated, in a seeded order)."""
    rng = random.Random(seed)
    ambient = read_ambientmeta(DATA / "ambientmeta-standard.jsonl")
    spans: dict[str, set[str]] = {}
    for item in ambient:
        for s, e, kind in item.spans:
            spans.setdefault(kind, set()).add(item.text[s:e].strip())
    names = {v for v in spans["PERSON"] if _is_name(v)}
    for path, kind in (("btc-dev.conll", "PER"), ("wnut17-dev.conll", "person")):
        for item in read_conll(DATA / path):
            names |= {item.text[s:e] for s, e, k in item.spans if k == kind and _is_name(item.text[s:e])}
    streets = sorted(v for v in spans["LOCATION"] if v.split()[-1].casefold() in STREET_WORDS and _is_name(v))
    addresses = [f"{street} {rng.randrange(1, 200)}" if i % 3 == 2 else f"{rng.randrange(1, 999)} {street}"
                 for i, street in enumerate(streets)]

    def ordered(values: set[str] | list[str]) -> list[str]:
        return rng.sample(sorted(values), len(values))

    return PlantedValues(
        names=ordered(names), phones=ordered(spans["PHONE"]), cards=ordered(spans["CREDIT_CARD"]),
        emails=ordered(spans["EMAIL"]), addresses=ordered(addresses),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from flows.build_dataset import build_dataset
    from schemas.params import DatasetParams
    from tools.synthetic_logs import write_logs

    values = public_values(args.seed)
    corpus = planted_logs(values, args.lines, seed=args.seed)
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": os.getloadavg(),
                    "lines": args.lines, "distinct_values": {k: len(v) for k, v in values.kinds().items()}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_logs(corpus, root / "logs", files=2, corrupt_gzip_tail=False)
        data = DatasetParams().model_dump()
        data.update(logs_dir=str(root / "logs"), out_root=str(root / "datasets"), name="planted")
        data["forget"]["deny_list"] = str(root / "deny.txt")
        data["decontaminate"]["regression_root"] = str(root / "regression")
        t0 = time.perf_counter()
        summary = build_dataset(params=DatasetParams.model_validate(data))
        report["build_s"] = round(time.perf_counter() - t0, 1)
        report["written"] = summary.written
        published = published_texts(Path(summary.out_dir), summary.model_dump_json())
    planted_by_kind = Counter()
    distinct = {(p.entity_type, p.value) for p in corpus.planted_pii}
    for kind, _ in distinct:
        planted_by_kind[kind] += 1
    raw = ambient_text(values, args.lines, seed=args.seed)
    leaks = leaked_values(published, corpus.planted_pii, raw)
    folded_raw = raw.casefold()
    skipped = {(k, v) for k, v in distinct if _occurs(v, folded_raw)}
    haystack = "\n".join(published.values())
    ambient = set(re.findall(r"[^\W\d_]{3,}", raw))  # words the logs carry anyway (templates, replies)
    name_words = {w for k, v in distinct if k == "name" for w in re.findall(r"[^\W\d_]{3,}", v)} - ambient
    published_words = set(re.findall(r"[^\W\d_]{3,}", haystack))
    word_leaks = sorted(name_words & published_words)
    report["planted_distinct"] = dict(planted_by_kind)
    report["leaked_verbatim"] = {k: len(leaks.get(k, ())) for k in planted_by_kind}
    report["leaked_total"] = sum(report["leaked_verbatim"].values())
    report["not_judged_also_in_templates"] = sorted(v for _, v in skipped)
    report["leaked_examples"] = {k: sorted(v)[:15] for k, v in leaks.items()}
    report["name_words"] = len(name_words)
    report["name_words_leaked"] = len(word_leaks)
    report["name_words_leaked_examples"] = word_leaks[:40]
    report["load_after"] = os.getloadavg()
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
