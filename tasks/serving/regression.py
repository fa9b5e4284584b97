"""Regression sets rebuilt from traffic: cases for the LLM, and a retrieval set for the gate.

A case comes from a deterministic, positively rated call (``warm_decision``); its texts are
PII-redacted with the dataset flow's redaction, exact duplicates (normalised text, as the dataset
dedupe does) are dropped, and each ``(category, template)`` stratum keeps at most
``max_per_stratum`` cases (the lowest ids: stable across rebuilds). A retrieval case comes from a
positively rated call that has a retrieval query and retrieved documents.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from schemas.gate import RegressionCase, RegressionManifest, RetrievalCase
from schemas.logs import LLMInteractionLog
from schemas.params import RedactParams, ServingParams
from tasks.dataset.dedupe import exact_key
from tasks.pii.redact import redact_strings
from tasks.serving.warm import log_documents, warm_decision
from tasks.ingest.versions import atomic_write_text

UNLABELLED = "unlabelled"


def log_messages(log: LLMInteractionLog) -> list[dict[str, str]]:
    """The input messages as sent: system prompt, history, user message."""
    history = [{"role": turn.role, "content": turn.content or ""} for turn in log.conversation_history]
    return [{"role": "system", "content": log.system_prompt}, *history, {"role": "user", "content": log.user_message}]


def redact_cases(logs: Sequence[LLMInteractionLog], redact: RedactParams) -> tuple[list[RegressionCase], Counter[str]]:
    """One redacted case per log (texts redacted in one batch); ids from the redacted content."""
    texts = [m["content"] for log in logs for m in log_messages(log)] + [log.response for log in logs]
    redacted, pii = redact_strings(texts, redact)
    lookup = dict(zip(texts, redacted))
    cases = []
    for log in logs:
        messages = [{"role": m["role"], "content": lookup[m["content"]]} for m in log_messages(log)]
        expected = lookup[log.response]
        content = exact_key(json.dumps([messages, expected], ensure_ascii=False))
        cases.append(RegressionCase(
            id=content[:16], category=log.category or UNLABELLED, prompt_template_id=log.prompt_template_id or UNLABELLED,
            messages=messages, expected_output=expected, reference_doc_ids=sorted({d.id for d in log_documents(log)}),
            corpus_version=(log.model_extra or {}).get("corpus_version"), source_request_id=log.request_id,
        ))
    return cases, pii


def stratify(cases: Sequence[RegressionCase], cap: int) -> tuple[list[RegressionCase], Counter[str]]:
    """Deduplicate by id, then keep the ``cap`` lowest ids of each (category, template) stratum."""
    unique = {case.id: case for case in reversed(cases)}  # the first occurrence wins
    kept: list[RegressionCase] = []
    strata: Counter[str] = Counter()
    for case in sorted(unique.values(), key=lambda c: (c.category, c.prompt_template_id, c.id)):
        stratum = f"{case.category}/{case.prompt_template_id}"
        if strata[stratum] < cap:
            strata[stratum] += 1
            kept.append(case)
    return kept, strata


def retrieval_cases(logs: Sequence[LLMInteractionLog], params: ServingParams, redact: RedactParams) -> list[RetrievalCase]:
    """Query -> relevant document ids, from positively rated calls whose retrieval found documents."""
    chosen = [log for log in logs if log.user_feedback in params.cache.positive_feedback
              and log.retrieval_query and log_documents(log)]
    queries, _ = redact_strings([log.retrieval_query for log in chosen], redact)
    unique: dict[str, RetrievalCase] = {}
    for log, query in zip(chosen, queries):
        relevant = sorted({d.id for d in log_documents(log)})
        case_id = exact_key(json.dumps([query, relevant]))[:16]
        unique.setdefault(case_id, RetrievalCase(id=case_id, text=query, relevant=relevant))
    return list(unique.values())


def build_regression_set(logs: Sequence[LLMInteractionLog], params: ServingParams, redact: RedactParams):
    """Cases, retrieval cases and ``total / kept / dropped_<reason>`` counts for a set of logs."""
    counts: Counter[str] = Counter(total=len(logs))
    selected = []
    for log in logs:
        keep, reason = warm_decision(log, params.cache.positive_feedback)
        if keep:
            selected.append(log)
        else:
            counts[f"dropped_{reason}"] += 1
    cases, pii = redact_cases(selected, redact)
    kept, strata = stratify(cases, params.regression.max_per_stratum)
    counts["dropped_duplicate"] = len(cases) - len({case.id for case in cases})
    counts["dropped_stratum_cap"] = len({case.id for case in cases}) - len(kept)
    counts.update({f"pii_{entity}": n for entity, n in pii.items()})
    counts["kept"] = len(kept)
    retrieval = retrieval_cases(logs, params, redact)
    counts["retrieval_cases"] = len(retrieval)
    return kept, retrieval, counts, strata


def write_regression_set(folder: Path, cases: Sequence[RegressionCase], retrieval: Sequence[RetrievalCase],
                         counts: Counter[str], strata: Counter[str], params: ServingParams, now: datetime) -> RegressionManifest:
    """Write ``cases.jsonl``, ``retrieval.jsonl`` and, last, ``manifest.json`` (each atomically)."""
    files = {
        "cases.jsonl": "".join(case.model_dump_json() + "\n" for case in cases),
        "retrieval.jsonl": "".join(case.model_dump_json() + "\n" for case in retrieval),
    }
    for name, text in files.items():
        atomic_write_text(folder / name, text)
    manifest = RegressionManifest(
        name=params.regression.name, created_at=now.isoformat(), max_per_stratum=params.regression.max_per_stratum,
        counts=dict(sorted(counts.items())), strata=dict(sorted(strata.items())),
        files={name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()},
    )
    atomic_write_text(folder / "manifest.json", manifest.model_dump_json(indent=2))
    return manifest
