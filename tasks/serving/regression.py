"""Regression sets rebuilt from traffic: cases for the LLM, and a retrieval set for the gate.

A case comes from a deterministic, positively rated call (``warm_decision``); its texts are
PII-redacted with the dataset flow's redaction, exact duplicates (normalised text, as the dataset
dedupe does) are dropped, and each ``(category, template)`` stratum keeps at most
``max_per_stratum`` cases (the lowest ids: stable across rebuilds). A retrieval case comes from a
positively rated call that has a retrieval query and retrieved documents. Every drop (an
unreadable line, a call not worth a case, a duplicate, a case over its stratum's cap) is counted
by the shared accounting (``tasks.common.accounting``): ``total == kept + sum(dropped_*)``.
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
from tasks.common.accounting import KEEP, Accounting
from tasks.serving.warm import READ_STAGE, log_documents, read_logs, warm_decision
from tasks.ingest.versions import atomic_write_text

UNLABELLED = "unlabelled"
REGRESSION_STAGES = (READ_STAGE, "select", "dedupe", "stratum")
"""The stages in order: lines -> valid logs -> cacheable calls -> distinct cases -> capped cases."""


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


def _dropped_case(case: RegressionCase, stage: str, reason: str) -> dict[str, str]:
    return {"stage": stage, "reason": reason, "case_id": case.id, "request_id": case.source_request_id or ""}


def stratify(
    cases: Sequence[RegressionCase], cap: int, acc: Accounting | None = None
) -> tuple[list[RegressionCase], Counter[str]]:
    """Deduplicate by id (stage ``dedupe``), then keep the ``cap`` lowest ids of each (category, template)
    stratum (stage ``stratum``); every drop counted in ``acc``."""
    acc = acc if acc is not None else Accounting()
    seen: set[str] = set()

    def first_of_id(case: RegressionCase) -> tuple[bool, str | None]:
        if case.id in seen:
            return False, "duplicate"
        seen.add(case.id)
        return KEEP

    unique = list(acc.filter("dedupe", cases, first_of_id, lambda c, r: _dropped_case(c, "dedupe", r)))
    strata: Counter[str] = Counter()

    def under_cap(case: RegressionCase) -> tuple[bool, str | None]:
        stratum = f"{case.category}/{case.prompt_template_id}"
        if strata[stratum] >= cap:
            return False, "stratum_cap"
        strata[stratum] += 1
        return KEEP

    ordered = sorted(unique, key=lambda c: (c.category, c.prompt_template_id, c.id))
    kept = list(acc.filter("stratum", ordered, under_cap, lambda c, r: _dropped_case(c, "stratum", r)))
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


def build_regression_set(
    logs: Sequence[LLMInteractionLog], params: ServingParams, redact: RedactParams, acc: Accounting | None = None
):
    """Cases, retrieval cases, ``total / kept / dropped_<reason> / pii_<entity>`` counts and strata.

    Args:
        logs: Validated logs in input order.
        params: Serving params (positive feedback, the regression section).
        redact: The dataset flow's redaction params.
        acc: The accounting (the one ``read_logs`` counted into, so bad lines are in the totals).
    """
    acc = acc if acc is not None else Accounting()
    positive = params.cache.positive_feedback
    selected = list(acc.filter(
        "select", logs, lambda log: warm_decision(log, positive),
        lambda log, reason: {"stage": "select", "reason": reason, "request_id": log.request_id},
    ))
    cases, pii = redact_cases(selected, redact)
    kept, strata = stratify(cases, params.regression.max_per_stratum, acc)
    counts: Counter[str] = Counter(acc.ledger.flat_over(REGRESSION_STAGES))
    counts.update({f"pii_{entity}": n for entity, n in pii.items()})
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


def regression_set_from_folder(
    logs_dir: Path, params: ServingParams, redact: RedactParams, now: datetime, acc: Accounting | None = None
) -> tuple[Path, RegressionManifest]:
    """Read every line of ``logs_dir`` (unreadable ones counted), build and write the regression sets.

    Returns:
        The set's folder (``out_root/name``) and its manifest.
    """
    acc = acc if acc is not None else Accounting()
    logs = list(read_logs(logs_dir, acc))
    cases, retrieval, counts, strata = build_regression_set(logs, params, redact, acc)
    out = Path(params.regression.out_root) / params.regression.name
    return out, write_regression_set(out, cases, retrieval, counts, strata, params, now)
