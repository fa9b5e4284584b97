"""The dataset flow's Prefect tasks: thin wrappers that run one stage over schema records.

Each task returns its records and a ``StageReport`` (``total / kept / dropped_<reason>``); every
dropped record goes on as a ``RejectedRecord`` with its reason. The logic is testable without
Prefect through ``task.fn(...)``. Only the push to a DVC remote retries (transient I/O). No task
result is cached or persisted: the early ones carry unredacted text, which must never be written
anywhere but memory.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.dataset import (
    SPLITS,
    BuildCounts,
    ChatExample,
    DatasetManifest,
    DedupeCluster,
    LeakageReport,
    RejectedRecord,
    SourceFile,
    SplitName,
    SplitReport,
    StageReport,
)
from schemas.params import DatasetParams
from tasks.dataset import dedupe as dedupe_lib
from tasks.dataset import redact as redact_lib
from tasks.dataset import write as write_lib
from tasks.dataset.datacard import render_data_card
from tasks.dataset.extract import log_to_example
from tasks.dataset.forget import read_deny_list, record_version
from tasks.dataset.read import RawLine, describe_source, find_log_files, iter_raw_lines, parse_log_line
from tasks.dataset.select import select_log
from tasks.dataset.split import assign_split, check_leakage, split_report
from tasks.dataset.tokens import count_tokens
from tasks.dataset.validate import validate_example
from tasks.dataset.version import TransientDvcError, commit_and_push


def _report(stage: str, total: int, dropped: list[RejectedRecord]) -> StageReport:
    return StageReport(
        stage=stage, total=total, kept=total - len(dropped), dropped=dict(Counter(r.reason for r in dropped))
    )


@dataclass
class ExtractOutcome:
    """Examples of the selected logs, every dropped line, the sources and the stage reports."""

    examples: list[ChatExample]
    rejects: list[RejectedRecord]
    sources: list[SourceFile]
    input_lines: int
    reports: list[StageReport] = field(default_factory=list)


@task(cache_policy=NO_CACHE, persist_result=False)
def extract_examples(logs_dir: Path, params: DatasetParams, deny_list: frozenset[str]) -> ExtractOutcome:
    """Read every log line, validate it, select it and turn it into a chat example."""
    examples: list[ChatExample] = []
    malformed: list[RejectedRecord] = []
    invalid: list[RejectedRecord] = []
    filtered: list[RejectedRecord] = []
    lines = 0
    files = find_log_files(logs_dir)
    for path in files:
        for raw in iter_raw_lines(path, logs_dir):
            lines += 1
            parsed = parse_log_line(raw) if isinstance(raw, RawLine) else raw
            if isinstance(parsed, RejectedRecord):
                (malformed if parsed.kind == "malformed" else invalid).append(parsed)
                continue
            keep, reason = select_log(parsed, params.select, deny_list, params.forget.user_hash_salt)
            if not keep:
                filtered.append(
                    RejectedRecord(
                        stage="select",
                        kind="filtered",
                        reason=reason or "filtered",
                        source=raw.source,
                        line=raw.line,
                        request_id=parsed.request_id,
                    )
                )
                continue
            examples.append(log_to_example(parsed, raw.source, raw.line, params))
    reports = [
        _report("read", lines, malformed),
        _report("schema", lines - len(malformed), invalid),
        _report("select", lines - len(malformed) - len(invalid), filtered),
    ]
    return ExtractOutcome(
        examples=examples,
        rejects=malformed + invalid + filtered,
        sources=[describe_source(p, logs_dir) for p in files],
        input_lines=lines,
        reports=reports,
    )


@task(cache_policy=NO_CACHE, persist_result=False)
def validate_examples(
    examples: list[ChatExample], params: DatasetParams
) -> tuple[list[ChatExample], list[RejectedRecord], StageReport]:
    """Chat-format checks and quality gates: errors reject, warnings annotate the example."""
    kept: list[ChatExample] = []
    rejects: list[RejectedRecord] = []
    for example in examples:
        result = validate_example(example.to_openai(), example.lineage.line, params.validation, count_tokens)
        if not result.valid:
            rejects.append(
                RejectedRecord(
                    stage="validate",
                    kind="rejected",
                    reason=result.errors[0].code,
                    source=example.lineage.source,
                    line=example.lineage.line,
                    request_id=example.lineage.request_id,
                    errors=[e.model_dump() for e in result.errors],
                )
            )
            continue
        kept.append(
            example.model_copy(
                update={"warnings": tuple(w.code for w in result.warnings), "token_count": result.token_count}
            )
        )
    return kept, rejects, _report("validate", len(examples), rejects)


@task(cache_policy=NO_CACHE, persist_result=False)
def redact_examples(
    examples: list[ChatExample], params: DatasetParams
) -> tuple[list[ChatExample], dict[str, int], StageReport]:
    """Replace personal data in every message with consistent placeholders."""
    outcome = redact_lib.redact_examples(examples, params.redact)
    counts = dict(sorted(outcome.pii_counts.items()))
    return outcome.examples, counts, StageReport(stage="redact", total=len(examples), kept=len(examples))


def dedupe_text(example: ChatExample, include_system: bool) -> str:
    """The text compared for duplicates: role-tagged messages (system prompts left out by default)."""
    parts = []
    for message in example.messages:
        if message.role == "system" and not include_system:
            continue
        payload = message.content or ""
        if message.tool_calls:
            payload += " " + json.dumps(message.tool_calls, sort_keys=True)
        parts.append(f"{message.role}: {payload}")
    return "\n".join(parts)


def keep_rank(example: ChatExample) -> tuple:
    """Keep policy: highest quality score, then newest, then smallest id."""
    score = example.quality_score if example.quality_score is not None else float("-inf")
    return (-score, -example.timestamp.timestamp(), example.example_id)


@task(cache_policy=NO_CACHE, persist_result=False)
def dedupe_examples(
    examples: list[ChatExample], params: DatasetParams
) -> tuple[list[ChatExample], list[RejectedRecord], list[DedupeCluster], StageReport]:
    """Exact then near-duplicate removal, keeping the best-ranked member of each cluster."""
    p = params.dedupe
    outcome = dedupe_lib.deduplicate(
        [dedupe_text(e, p.include_system) for e in examples],
        rank=lambda i: keep_rank(examples[i]),
        threshold=p.threshold,
        num_perm=p.num_perm,
        shingle_size=p.shingle_size,
    )
    rejects = [
        RejectedRecord(
            stage="dedupe",
            kind="duplicate",
            reason=reason,
            source=examples[i].lineage.source,
            line=examples[i].lineage.line,
            request_id=examples[i].lineage.request_id,
            example_id=examples[i].example_id,
        )
        for i, reason in sorted(outcome.dropped.items())
    ]

    def ref(i: int) -> str:
        return f"{examples[i].lineage.source}:{examples[i].lineage.line}"

    clusters = [
        DedupeCluster(cluster=n, kind=c.kind, members=[ref(i) for i in c.members], kept=ref(c.kept))
        for n, c in enumerate(outcome.clusters)
    ]
    return [examples[i] for i in outcome.kept], rejects, clusters, _report("dedupe", len(examples), rejects)


@task(cache_policy=NO_CACHE, persist_result=False)
def split_examples(examples: list[ChatExample], params: DatasetParams) -> tuple[list[SplitName], SplitReport]:
    """Assign each example to a split by its group hash, and report against the targets."""
    splits = [assign_split(e.group_hash, params.split) for e in examples]
    return splits, split_report(examples, splits, params.split)


@task(cache_policy=NO_CACHE, persist_result=False)
def check_split_leakage(examples: list[ChatExample], splits: list[SplitName], params: DatasetParams) -> LeakageReport:
    """Prove no near-duplicate pair straddles two splits (fails the build if one does)."""
    p = params.dedupe
    report = check_leakage(
        [dedupe_text(e, p.include_system) for e in examples],
        splits,
        [e.example_id for e in examples],
        p.threshold,
        p.num_perm,
        p.shingle_size,
    )
    if not report.clean:
        raise ValueError(f"{len(report.cross_split_pairs)} near-duplicate pairs straddle splits")
    return report


@dataclass
class BuildResult:
    """What a build wrote."""

    manifest: DatasetManifest
    out_dir: Path
    data_card: Path


@task(cache_policy=NO_CACHE, persist_result=False)
def write_dataset(
    out_dir: Path,
    params: DatasetParams,
    examples: list[ChatExample],
    splits: list[SplitName],
    rejects: list[RejectedRecord],
    clusters: list[DedupeCluster],
    reports: list[StageReport],
    split_rep: SplitReport,
    leakage: LeakageReport,
    pii_counts: dict[str, int],
    sources: list[SourceFile],
    input_lines: int,
) -> BuildResult:
    """Write the dataset folder atomically and register the version for ``forget``."""
    staging = write_lib.staging_dir(out_dir)
    by_split: dict[str, list[ChatExample]] = {s: [] for s in SPLITS}
    for example, split in zip(examples, splits, strict=True):
        by_split[split].append(example)
    for split in SPLITS:
        write_lib.write_split(staging, split, by_split[split])
    write_lib.write_rejects(staging, rejects)
    write_lib.write_lineage(staging, zip(examples, splits, strict=True))
    write_lib.write_jsonl(staging / "clusters.jsonl", (c.model_dump() for c in clusters))
    kinds = Counter(r.kind for r in rejects)
    reasons: dict[str, dict[str, int]] = {}
    for r in rejects:
        reasons.setdefault(r.kind, {}).setdefault(r.reason, 0)
        reasons[r.kind][r.reason] += 1
    files = write_lib.split_files(staging)
    lengths = {s: sorted(e.token_count or 0 for e in by_split[s]) for s in SPLITS}
    manifest = DatasetManifest(
        name=params.name,
        version=write_lib.content_version(files),
        counts=BuildCounts(
            input_lines=input_lines,
            written=len(examples),
            rejected=kinds["rejected"],
            filtered=kinds["filtered"],
            duplicates=kinds["duplicate"],
            malformed=kinds["malformed"],
        ),
        reasons={k: dict(sorted(v.items())) for k, v in sorted(reasons.items())},
        splits={s: len(by_split[s]) for s in SPLITS},
        stages=reports,
        split_report=split_rep,
        leakage=leakage,
        pii_counts=pii_counts,
        duplicate_cluster_sizes={str(k): v for k, v in sorted(Counter(len(c.members) for c in clusters).items())},
        token_stats={s: _stats(lengths[s]) for s in SPLITS},
        params=params.model_dump(mode="json"),
        params_fingerprint=params.fingerprint(),
        sources=sources,
        files=files,
        user_hashes=sorted({e.user_hash for e in examples if e.user_hash}),
    )
    if not manifest.counts.balanced:
        raise ValueError(f"accounting does not balance: {manifest.counts}")
    (staging / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (staging / "data_card.html").write_text(render_data_card(manifest, lengths), encoding="utf-8")
    write_lib.publish_dir(staging, out_dir)
    record_version(out_dir.parent, params.name, manifest.version, manifest.user_hashes)
    return BuildResult(manifest=manifest, out_dir=out_dir, data_card=out_dir / "data_card.html")


def _stats(lengths: list[int]) -> dict[str, float]:
    if not lengths:
        return {"count": 0, "min": 0, "median": 0, "max": 0, "mean": 0.0}
    return {
        "count": len(lengths),
        "min": lengths[0],
        "median": lengths[len(lengths) // 2],
        "max": lengths[-1],
        "mean": round(sum(lengths) / len(lengths), 2),
    }


def _is_transient(task, task_run, state) -> bool:
    """Retry only DVC remote/network failures."""
    try:
        state.result()
    except TransientDvcError:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth a retry; it re-raises from the flow
        return False
    return False


@task(
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=_is_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def push_dataset(repo_root: Path, remote: str | None) -> bool:
    """Commit the stage's outputs to ``dvc.lock`` and push them to the DVC remote."""
    commit_and_push(repo_root, remote)
    return True


def load_deny_list(params: DatasetParams) -> frozenset[str]:
    """The deny-list of forgotten users named in the params."""
    return read_deny_list(Path(params.forget.deny_list))
