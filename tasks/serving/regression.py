"""Regression sets rebuilt from traffic: cases for the LLM, and a retrieval set for the gate.

A case comes from a deterministic, positively rated call (``warm_decision``) of a user who is not
on the forget deny-list; its texts are PII-redacted exactly as the dataset build redacts the same
call (``redact_like_dataset``), it carries the salted hash of its user (so ``forget`` can remove
it: ``forget_user_cases``), exact duplicates (normalised text, as the dataset
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from schemas.gate import RegressionCase, RegressionManifest, RetrievalCase
from schemas.logs import LLMInteractionLog
from schemas.params import DatasetParams, ServingParams
from tasks.dataset.dedupe import exact_key
from tasks.dataset.forget import read_deny_list
from tasks.pii.redact import redact_strings
from tasks.common.accounting import KEEP, Accounting
from tasks.serving.warm import (
    READ_STAGE, forget_decision, log_documents, log_user_hash, read_logs, redact_like_dataset, warm_decision,
)
from tasks.ingest.versions import atomic_write_text

UNLABELLED = "unlabelled"
SET_FILES = ("cases.jsonl", "retrieval.jsonl")
"""The files of a set, in the order they are written (``manifest.json`` last)."""
FORGOTTEN = "dropped_forgotten_user"
REGRESSION_STAGES = (READ_STAGE, "select", "dedupe", "stratum")
"""The stages in order: lines -> valid logs -> cacheable calls -> distinct cases -> capped cases."""


def redact_cases(logs: Sequence[LLMInteractionLog], dataset: DatasetParams) -> tuple[list[RegressionCase], Counter[str]]:
    """One redacted case per log, redacted as the dataset build redacts it (``redact_like_dataset``, one
    batch); the input messages start with the system prompt (even an empty one); ids from the redacted content."""
    examples, pii = redact_like_dataset(logs, dataset)
    cases = []
    for log, example in zip(logs, examples):
        *inputs, reply = example.messages
        messages = [{"role": m.role, "content": m.content or ""} for m in inputs]
        if not inputs or inputs[0].role != "system":  # an empty system prompt is no chat message, but a case field
            messages.insert(0, {"role": "system", "content": log.system_prompt})
        expected = reply.content or ""
        content = exact_key(json.dumps([messages, expected], ensure_ascii=False))
        cases.append(RegressionCase(
            id=content[:16], category=log.category or UNLABELLED, prompt_template_id=log.prompt_template_id or UNLABELLED,
            messages=messages, expected_output=expected, reference_doc_ids=sorted({d.id for d in log_documents(log)}),
            corpus_version=(log.model_extra or {}).get("corpus_version"), source_request_id=log.request_id,
            user_hash=example.user_hash,
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


def retrieval_cases(
    logs: Sequence[LLMInteractionLog], params: ServingParams, dataset: DatasetParams, denied: frozenset[str] = frozenset()
) -> list[RetrievalCase]:
    """Query -> relevant document ids, from positively rated calls (of users not on the deny-list) whose
    retrieval found documents. A query is a string of its own (not a turn of the conversation), so it is
    redacted alone, with the dataset's redaction params."""
    chosen = [log for log in logs if log.user_feedback in params.cache.positive_feedback
              and log.retrieval_query and log_documents(log) and forget_decision(log, dataset, denied)[0]]
    queries, _ = redact_strings([log.retrieval_query for log in chosen], dataset.redact)
    unique: dict[str, RetrievalCase] = {}
    for log, query in zip(chosen, queries):
        relevant = sorted({d.id for d in log_documents(log)})
        case_id = exact_key(json.dumps([query, relevant]))[:16]
        unique.setdefault(case_id, RetrievalCase(id=case_id, text=query, relevant=relevant,
                                                 user_hash=log_user_hash(log, dataset)))
    return list(unique.values())


def select_decision(log: LLMInteractionLog, dataset: DatasetParams, denied: frozenset[str],
                    positive: Sequence[str]) -> tuple[bool, str | None]:
    """``forget_decision`` then ``warm_decision``: the first reason to drop a call, or keep."""
    decision = forget_decision(log, dataset, denied)
    return warm_decision(log, positive) if decision[0] else decision


def build_regression_set(
    logs: Sequence[LLMInteractionLog], params: ServingParams, dataset: DatasetParams, acc: Accounting | None = None,
    denied: frozenset[str] = frozenset(),
):
    """Cases, retrieval cases, ``total / kept / dropped_<reason> / pii_<entity>`` counts and strata.

    Args:
        logs: Validated logs in input order.
        params: Serving params (positive feedback, the regression section).
        dataset: The dataset params: its redaction (``dataset.redact``) and user-hash salt.
        acc: The accounting (the one ``read_logs`` counted into, so bad lines are in the totals).
        denied: User hashes on the forget deny-list (their calls are dropped as ``forgotten_user``).
    """
    acc = acc if acc is not None else Accounting()
    positive = params.cache.positive_feedback
    selected = list(acc.filter(
        "select", logs, lambda log: select_decision(log, dataset, denied, positive),
        lambda log, reason: {"stage": "select", "reason": reason, "request_id": log.request_id},
    ))
    cases, pii = redact_cases(selected, dataset)
    kept, strata = stratify(cases, params.regression.max_per_stratum, acc)
    counts: Counter[str] = Counter(acc.ledger.flat_over(REGRESSION_STAGES))
    counts.update({f"pii_{entity}": n for entity, n in pii.items()})
    retrieval = retrieval_cases(logs, params, dataset, denied)
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
        counts=dict(sorted(counts.items())), strata=dict(sorted(strata.items())), files=_digests(files),
    )
    atomic_write_text(folder / "manifest.json", manifest.model_dump_json(indent=2))
    return manifest


def _digests(files: dict[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()}


def regression_set_from_folder(
    logs_dir: Path, params: ServingParams, dataset: DatasetParams, now: datetime, acc: Accounting | None = None
) -> tuple[Path, RegressionManifest]:
    """Read every line of ``logs_dir`` (unreadable ones counted), build and write the regression sets,
    leaving out the users on the deny-list (``dataset.forget.deny_list``).

    Returns:
        The set's folder (``out_root/name``) and its manifest.
    """
    acc = acc if acc is not None else Accounting()
    logs = list(read_logs(logs_dir, acc))
    denied = read_deny_list(Path(dataset.forget.deny_list))
    cases, retrieval, counts, strata = build_regression_set(logs, params, dataset, acc, denied)
    out = Path(params.regression.out_root) / params.regression.name
    return out, write_regression_set(out, cases, retrieval, counts, strata, params, now)


@dataclass(frozen=True)
class ForgottenCases:
    """What ``forget_user_cases`` removed from one set, and how many of its items name no user at all."""

    cases: int
    retrieval: int
    unattributed: int

    def as_dict(self) -> dict[str, int]:
        """The counts as the forget report prints them."""
        return {"cases": self.cases, "retrieval": self.retrieval, "unattributed": self.unattributed}


def regression_set_folders(roots: Iterable[Path]) -> list[Path]:
    """Every set folder (``<root>/<name>/`` holding a set file) under the roots, sorted, each once."""
    found = {folder.resolve(): folder for root in roots for name in SET_FILES for folder in
             (path.parent for path in Path(root).glob(f"*/{name}"))}
    return [found[key] for key in sorted(found)]


def edited_manifest(manifest: RegressionManifest, files: dict[str, str], now: datetime) -> RegressionManifest:
    """The manifest of a set after forget rewrote ``files``: ``kept``, ``retrieval_cases`` and the strata
    recounted from the files, the removed cases counted under ``dropped_forgotten_user`` so ``total == kept
    + sum(dropped_*)`` still holds, and ``edited_at``. Derived from the files alone, so a rerun after a crash
    between the file and the manifest writes converges to the same manifest."""
    cases = [RegressionCase.model_validate_json(line) for line in files["cases.jsonl"].splitlines() if line.strip()]
    counts = dict(manifest.counts)
    counts["kept"] = len(cases)
    counts["retrieval_cases"] = sum(1 for line in files["retrieval.jsonl"].splitlines() if line.strip())
    other_drops = sum(n for key, n in counts.items() if key.startswith("dropped_") and key != FORGOTTEN)
    counts[FORGOTTEN] = counts.get("total", len(cases)) - len(cases) - other_drops
    strata = Counter(f"{case.category}/{case.prompt_template_id}" for case in cases)
    return manifest.model_copy(update={
        "counts": dict(sorted(counts.items())), "strata": dict(sorted(strata.items())),
        "files": {**manifest.files, **_digests(files)},
        "edited_at": now.isoformat(),
    })


def forget_user_cases(folder: Path, hashed: str, now: datetime) -> ForgottenCases:
    """Remove the cases and retrieval cases of user ``hashed`` from one regression set.

    The lines kept are kept byte for byte. Each file is replaced atomically, the manifest (when the set
    has one) last, recounted by ``edited_manifest``; it is also rewritten when its file digests no longer
    match the files (a run killed between the writes), so a rerun repairs it. A second call removes nothing.

    Args:
        folder: The set's folder (``cases.jsonl``, ``retrieval.jsonl``, ``manifest.json``; any may be absent).
        hashed: The salted user hash.
        now: ``edited_at`` of the manifest.

    Returns:
        How many cases and retrieval cases were removed, and how many items carry no user hash
        (sets written before cases recorded their user: ``forget`` cannot attribute those).
    """
    texts = {name: (folder / name).read_text(encoding="utf-8") if (folder / name).exists() else "" for name in SET_FILES}
    kept: dict[str, str] = {}
    removed: Counter[str] = Counter()
    unattributed = 0
    for name, text in texts.items():
        lines = [line for line in text.splitlines(keepends=True) if line.strip()]
        owners = [json.loads(line).get("user_hash") for line in lines]
        unattributed += sum(owner is None for owner in owners)
        kept[name] = "".join(line for line, owner in zip(lines, owners) if owner != hashed)
        removed[name] = sum(owner == hashed for owner in owners)
    for name in SET_FILES:
        if removed[name]:
            atomic_write_text(folder / name, kept[name])
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = RegressionManifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
        stale = any(manifest.files.get(name, digest) != digest for name, digest in _digests(kept).items())
        if sum(removed.values()) or stale:
            atomic_write_text(manifest_path, edited_manifest(manifest, kept, now).model_dump_json(indent=2))
    return ForgottenCases(cases=removed["cases.jsonl"], retrieval=removed["retrieval.jsonl"], unattributed=unattributed)
