"""PII throughput (ours vs a plain per-text presidio loop) and recall / over-redaction.

Throughput, on the same texts, with the same recognizers (texts whose findings differ are counted):
  * baseline: a plain ``AnalyzerEngine`` (full spaCy pipeline) and one ``analyze`` call per text;
  * ours: ``tasks.pii.redact.analyze_texts``: distinct texts once, ``nlp.pipe`` batches, the
    dependency parser skipped, the lemma-only components (tok2vec, tagger, attribute ruler,
    lemmatizer) run only for texts whose analysis reads lemmas, worker processes (forked from 400
    distinct texts when the caller runs no other thread, else spawned from 20,000).
Two text sets: distinct labelled texts (batching alone) and the message stream of generated logs
(system prompts and duplicates repeat, as in real logs).

Quality, on a labelled set generated with known spans: recall (planted values fully covered) and
over-redaction (findings touching no planted value), for presidio's defaults and for ours.

    .venv/bin/python bench/bench_pii.py [--texts 2000] [--log-lines 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from schemas.logs import LLMInteractionLog  # noqa: E402
from schemas.params import RedactParams  # noqa: E402
from tasks.pii.redact import analyze_texts, build_analyzer  # noqa: E402
from tools.synthetic_logs import generate_logs, labelled_pii_texts  # noqa: E402


def _key(results) -> list[tuple]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 3)) for r in results)


def log_message_stream(lines: int) -> list[str]:
    """Every message text of the valid generated logs, in order, repeats included."""
    texts = []
    for line in generate_logs(lines, seed=5).lines:
        try:
            log = LLMInteractionLog.model_validate_json(line)
        except ValueError:
            continue
        texts += [log.system_prompt, *(t.content for t in log.conversation_history if t.content), log.user_message]
        texts += [log.response] if log.response else []
    return texts


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the analyzer workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def throughput(texts: list[str], params: RedactParams) -> dict:
    """Time the baseline loop and ours on ``texts``; check the findings agree.

    Wall time is the target; CPU time (workers included) and the load average around each run
    say how much of the wall time other processes on the machine took.
    """
    baseline = build_analyzer(skip_parser=False)
    kwargs = dict(language="en", entities=list(params.entities), score_threshold=params.score_threshold)
    baseline.analyze(text="warm up John Smith", **kwargs)
    load_before = round(os.getloadavg()[0], 2)
    c0, t0 = _cpu_s(), time.perf_counter()
    plain = [baseline.analyze(text=t, **kwargs) for t in texts]
    c1, t1 = _cpu_s(), time.perf_counter()
    ours = analyze_texts(texts, params)
    c2, t2 = _cpu_s(), time.perf_counter()
    differ = {t for t, p in zip(texts, plain, strict=True) if t and _key(p) != _key(ours.get(t, []))}
    return {
        "texts": len(texts),
        "distinct": len(set(texts)),
        "baseline_s": round(t1 - t0, 2),
        "baseline_cpu_s": round(c1 - c0, 2),
        "baseline_texts_per_s": round(len(texts) / (t1 - t0), 1),
        "ours_s": round(t2 - t1, 2),
        "ours_cpu_s": round(c2 - c1, 2),
        "ours_texts_per_s": round(len(texts) / (t2 - t1), 1),
        "speedup": round((t1 - t0) / (t2 - t1), 2),
        "load_average_1m": [load_before, round(os.getloadavg()[0], 2)],
        "distinct_texts_with_other_findings": len(differ),
    }


def quality(n: int, params: RedactParams) -> dict:
    """Recall and over-redaction of presidio's defaults and of ours on a labelled set."""
    labelled = labelled_pii_texts(n, seed=42)
    out = {}
    kwargs = dict(language="en", entities=list(params.entities), score_threshold=params.score_threshold)
    for name, analyzer in (("presidio_defaults", build_analyzer(extra_recognizers=False)), ("ours", build_analyzer())):
        planted = caught = found = spurious = 0
        by_type: dict[str, list[int]] = {}
        for item in labelled:
            results = analyzer.analyze(text=item.text, **kwargs)
            for span in item.spans:
                hit = any(r.start <= span.start and span.end <= r.end for r in results)
                planted += 1
                caught += hit
                by_type.setdefault(span.entity_type, [0, 0])[0] += hit
                by_type[span.entity_type][1] += 1
            for r in results:
                found += 1
                spurious += not any(r.start < s.end and s.start < r.end for s in item.spans)
        out[name] = {
            "recall": round(caught / planted, 4),
            "over_redaction": round(spurious / max(found, 1), 4),
            "planted": planted,
            "findings": found,
            "recall_by_type": {k: round(v[0] / v[1], 3) for k, v in sorted(by_type.items())},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--log-lines", type=int, default=1000)
    parser.add_argument("--labelled", type=int, default=600)
    parser.add_argument("--workers", type=int, default=0, help="0: automatic (see analyze_texts)")
    args = parser.parse_args()
    params = RedactParams(workers=args.workers)
    report = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "distinct_texts": throughput([t.text for t in labelled_pii_texts(args.texts, seed=7)], params),
        "log_messages": throughput(log_message_stream(args.log_lines), params),
        "quality": quality(args.labelled, params),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
