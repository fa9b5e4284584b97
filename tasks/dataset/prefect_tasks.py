"""The dataset flow's Prefect tasks, over batches of log lines and a bounded-memory example store.

``prepare_batch`` is the heavy per-record work (parse, select, validate, redact PII, exact key and
MinHash signature) for one batch of lines; the flow submits it to its task runner (threads,
Prefect's process pool or a Dask cluster) with a bounded number of batches in flight, and adds
the results, in input order, to an ``ExampleStore`` (redacted examples spooled to the staging
folder, compact facts in memory). ``dedupe_and_split`` and ``write_dataset`` then work on the
store. Every dropped line becomes a ``RejectedRecord`` with its reason and every stage is
tallied, so the counts reconcile. No task result is cached or persisted: batches carry
unredacted text, which must never be written anywhere but memory.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
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
from schemas.logs import LLMInteractionLog
from schemas.params import DEDUPE_METHODS, DatasetParams, IngestParams, load_params
from tasks.common.clock import StageClock
from tasks.dataset import write as write_lib
from tasks.common.accounting import KEEP, Accounting, Ledger
from tasks.dataset.collect import BuildRejects, ExampleRecord, ExampleStore, reject_order
from tasks.dataset.datacard import render_data_card
from tasks.dataset.decontaminate import ContaminationIndex, describe, load_index, user_text, user_turn_keys
from tasks.dataset.dedupe import dedupe_text, exact_key, minhash_signatures, similar_pairs
from tasks.dataset.extract import log_to_example
from tasks.dataset.forget import read_deny_list, record_version
from tasks.dataset.lineage import record_examples
from tasks.dataset.plots import write_plot_data
from tasks.dataset.read import RawLine, iter_raw_lines, parse_log_line
from tasks.dataset import pairs as pairs_lib
from tasks.dataset import pool as pool_lib
from tasks.dataset.select import cap_per_user, select_fields
from tasks.dataset.split import assign_split, check_leakage_signed, split_report, with_method_pairs
from tasks.dataset.similarity import (
    PairFinder,
    deduplicate_staged,
    distinct_shingle_hashes,
    embed_texts,
    hashed_containment_pairs,
    semantic_pairs_blockwise,
)
from tasks.dataset.tokens import count_tokens
from tasks.dataset.validate import validate_example
from tasks.common.presidio_import import import_presidio
from tasks.dataset.version import TransientDvcError, commit_and_push

BATCH_LINES = 2_000
"""Log lines per ``prepare_batch`` task: large enough for ``nlp.pipe`` and numpy to pay off."""
PROCESSES_FROM = 5_000
"""Input lines from which the ``auto`` runner uses processes: each spawned process imports presidio,
spaCy and torch (10-15 s here), which a smaller build does not win back."""
EMBED_LOCK = threading.Lock()
"""Batches on the thread runner embed one at a time (concurrent torch calls oversubscribe the cores)."""


@dataclass
class PreparedBatch:
    """A batch of log lines after the per-record stages, in input order."""

    examples: list[ExampleRecord]
    exact_keys: list[str]
    signatures: np.ndarray
    rejects: list[RejectedRecord]
    """The batch's dropped lines, in ``(source, line, stage)`` order."""
    tally: Ledger
    clock: StageClock = field(default_factory=StageClock)
    """Seconds and items of each stage the batch ran (its own work only: a reused line is not redacted again)."""
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    """Pool rows of the lines processed anew, for the flow to append to the pool."""
    pool: Counter[str] = field(default_factory=Counter)
    """``reused`` / ``processed`` / ``redacted`` / ``embedded`` / ``forgotten`` lines of the batch (and
    ``reembedded``: reused rows written again with a new embedding, already among ``new_rows``)."""
    embeddings: np.ndarray | None = None
    """The examples' embeddings (semantic dedupe on), one row each."""


def _timed(clock: StageClock, stage: str, start: float, items: int) -> float:
    now = time.perf_counter()
    clock.add(stage, now - start, items)
    return now


def process_lines(
    lines: Sequence[RawLine], params: DatasetParams, deny_list: frozenset[str], clock: StageClock
) -> list[dict[str, Any]]:
    """Pool rows for lines the pool does not hold: parse, validate, redact and sign, whatever the selection.

    A line of a forgotten user is not processed: its entry (outcome ``forgotten``) only carries the
    request id for its ``filtered`` record and is never stored.
    """
    fps = pool_lib.fingerprints(params)
    rows: list[dict[str, Any]] = []
    parsed: list[tuple[dict[str, Any], ChatExample]] = []
    start = time.perf_counter()
    for raw in lines:
        log = parse_log_line(raw)
        if isinstance(log, RejectedRecord):
            rows.append(pool_lib.reject_row(raw, fps, log))
        elif pool_lib.forgotten(log, params, deny_list):
            rows.append({"outcome": "forgotten", "request_id": log.request_id})
        else:
            example = log_to_example(log, raw.source, raw.line, params)
            rows.append(pool_lib.parsed_row(raw, fps, log, example))
            parsed.append((rows[-1], example))
    start = _timed(clock, "parse", start, len(lines))
    valid: list[tuple[dict[str, Any], ChatExample]] = []
    for row, example in parsed:
        result = validate_example(example.to_openai(), example.lineage.line, params.validation, count_tokens)
        if result.valid:
            update = {"warnings": tuple(w.code for w in result.warnings), "token_count": result.token_count}
            valid.append((row, example.model_copy(update=update)))
            continue
        record = RejectedRecord.of_example(
            example, "validate", "rejected", result.errors[0].code, errors=[issue.model_dump() for issue in result.errors]
        )
        row.update(outcome="invalid", reject=record.model_dump_json(exclude_none=True))
    start = _timed(clock, "validate", start, len(parsed))
    # parallelism comes from the task runner: one process a batch (redact serialises threads itself)
    if not valid:  # nothing to redact (a batch the pool served): presidio is not even loaded
        return rows
    import_presidio()  # without torch: it is only imported where it redacts, and that in seconds
    from tasks.pii import redact as redact_lib

    redacted = redact_lib.redact_examples([e for _, e in valid], params.redact.model_copy(update={"workers": 1})).examples
    start = _timed(clock, "redact", start, len(valid))
    p = params.dedupe
    texts = [dedupe_text(e, p.include_system) for e in redacted]
    signatures = minhash_signatures(texts, p.num_perm, p.shingle_size, workers=1)
    shingle_sets = distinct_shingle_hashes(texts, p.shingle_size)
    user_keys, user_signatures = user_turn_keys(
        [user_text((m.role, m.content) for m in e.messages) for e in redacted], p.num_perm, p.shingle_size
    )
    for (row, _), example, text, signature, shingle_set, user_key, user_signature in zip(
        valid, redacted, texts, signatures, shingle_sets, user_keys, user_signatures, strict=True
    ):
        row.update(
            user_key=user_key,
            user_signature=user_signature,
            redact_fp=fps.redact,
            example=example.model_dump_json(),
            example_id=example.example_id,
            token_count=example.token_count,
            exact_key=exact_key(text),
            signature=signature,
            shingles=shingle_set,
        )
    start = _timed(clock, "minhash", start, len(valid))
    if fps.embed is not None:
        _embed_rows([row for row, _ in valid], texts, params, fps.embed)
        _timed(clock, "embed", start, len(valid))
    return rows


def _embed_rows(rows: Sequence[dict[str, Any]], texts: Sequence[str], params: DatasetParams, embed_fp: str) -> None:
    """Store each row's embedding (of its dedupe text, normalised) and the fingerprint it was made under."""
    with EMBED_LOCK:  # one forward pass at a time per process: torch already uses every core
        vectors = embed_texts(texts, pool_lib.embedding_model_name(params))
    for row, vector in zip(rows, vectors, strict=True):
        row.update(embed_fp=embed_fp, embedding=vector)


def _reembed(
    lines: Sequence[RawLine], rows: list[dict[str, Any]], reused: Sequence[int], params: DatasetParams,
    deny_list: frozenset[str], fps: pool_lib.Fingerprints, clock: StageClock,
) -> list[dict[str, Any]]:
    """Reused rows without an embedding under ``fps.embed``: copies embedded now (nothing re-redacted), in place in ``rows``.

    A forgotten user's row is left alone (it is filtered, and must not be written again).
    """
    if fps.embed is None:
        return []
    stale = [i for i in reused if rows[i]["outcome"] == "ok" and rows[i].get("embed_fp") != fps.embed
             and rows[i]["user_hash"] not in deny_list]
    if not stale:
        return []
    start = time.perf_counter()
    copies = [dict(rows[i]) for i in stale]
    texts = [dedupe_text(pool_lib.row_example(row, lines[i]), params.dedupe.include_system) for row, i in zip(copies, stale, strict=True)]
    for row, shingle_set in zip(copies, distinct_shingle_hashes(texts, params.dedupe.shingle_size), strict=True):
        row["shingles"] = shingle_set  # a looked-up row lacks the column (``Pool``); the copy is written whole
    _embed_rows(copies, texts, params, fps.embed)
    for i, row in zip(stale, copies, strict=True):
        rows[i] = row
    _timed(clock, "embed", start, len(copies))
    return copies


def _account(
    lines: Sequence[RawLine], rows: Sequence[dict[str, Any]], params: DatasetParams, deny_list: frozenset[str], acc: Accounting
) -> Examples:
    """Each line's stages from its row, counted as if processed now: read, schema, select, validate, redact."""
    examples: list[ExampleRecord] = []
    keys: list[str] = []
    signatures: list[np.ndarray] = []
    user_keys: list[str | None] = []
    user_signatures: list[np.ndarray | None] = []
    embeddings: list[np.ndarray | None] = []
    for raw, row in zip(lines, rows, strict=True):
        outcome = row["outcome"]
        if outcome == "malformed":
            record = pool_lib.row_reject(row, raw)
            acc.check("read", (False, record.reason), lambda _, r=record: r)
            continue
        acc.check("read", KEEP)
        if outcome == "schema":
            record = pool_lib.row_reject(row, raw)
            acc.check("schema", (False, record.reason), lambda _, r=record: r)
            continue
        acc.check("schema", KEEP)
        if outcome == "forgotten":
            decision: tuple[bool, str | None] = (False, "forgotten_user")
        else:
            decision = select_fields(pool_lib.select_fields(row, bool(params.select.languages)), params.select, deny_list)
        filtered = lambda reason, raw=raw, row=row: RejectedRecord(  # noqa: E731
            stage="select", kind="filtered", reason=reason, source=raw.source, line=raw.line, request_id=row["request_id"]
        )
        if not acc.check("select", decision, filtered):
            continue
        if outcome == "invalid":
            record = pool_lib.row_reject(row, raw)
            acc.check("validate", (False, record.reason), lambda _, r=record: r)
            continue
        acc.check("validate", KEEP)
        examples.append(ExampleRecord.from_json(row["example"], raw.source, raw.line))
        keys.append(row["exact_key"])
        signatures.append(np.asarray(row["signature"], dtype=np.uint32))
        user_keys.append(row.get("user_key"))
        user_signatures.append(row.get("user_signature"))
        embeddings.append(row.get("embedding"))
    acc.ledger.seen("redact", len(examples))
    num_perm = params.dedupe.num_perm
    older = [i for i, key in enumerate(user_keys) if key is None]  # rows from parts written before the columns
    if older:
        found = user_turn_keys([examples[i].user_turns() for i in older], num_perm, params.dedupe.shingle_size)
        for i, key, signature in zip(older, *found, strict=True):
            user_keys[i], user_signatures[i] = key, signature
    semantic = "semantic" in params.dedupe.methods  # every row then has an embedding (``_reembed``)
    return Examples(
        examples, keys, _stack(signatures, num_perm, np.uint32), user_keys, _stack(user_signatures, num_perm, np.uint32),
        _stack(embeddings, 0, np.float32) if semantic else None,
    )


def _stack(rows: Sequence[np.ndarray], width: int, dtype: type) -> np.ndarray:
    """Equal-length vectors as one array (``(0, width)`` when there are none)."""
    if not rows:
        return np.zeros((0, width), dtype=dtype)
    return np.vstack([np.asarray(row, dtype=dtype) for row in rows])


def prepare_lines(
    lines: Sequence[RawLine],
    params: DatasetParams,
    deny_list: frozenset[str],
    contamination: ContaminationIndex | None = None,
    rows: Sequence[dict[str, Any] | None] | None = None,
    fresh: Sequence[int] = (),
    clock: StageClock | None = None,
) -> PreparedBatch:
    """Parse, validate and redact the lines the pool lacks, then select, key and sign each example, drop eval copies.

    Args:
        lines: Decoded log lines.
        params: The dataset params.
        deny_list: Salted hashes of forgotten users.
        contamination: The evaluation sets' index; an example copying an item is dropped
            (stage ``decontaminate``, reason ``contaminates_<set>``).
        rows: Each line's pool row, or None where the pool has none (all None: nothing reused).
        fresh: Lines whose row was processed for this build elsewhere (``tasks.dataset.ahead``):
            counted and stored as processed anew.
        clock: Stage seconds and items spent on those rows, to report with this batch's.

    Returns:
        The redacted examples with their exact keys and MinHash signatures (of ``dedupe_text``),
        every dropped line as a record, the stage tally, each stage's seconds and items, and the
        rows of the lines processed anew (for the pool).
    """
    rejects: list[RejectedRecord] = []
    acc = Accounting(Ledger(), rejects.append)
    clock = StageClock(dict(clock.seconds), dict(clock.items)) if clock is not None else StageClock()
    rows = list(rows) if rows is not None else [None] * len(lines)
    missing = [i for i, row in enumerate(rows) if row is None]
    processed = set(missing) | set(fresh)
    reused = [i for i, row in enumerate(rows) if row is not None and i not in processed]
    if missing:
        for i, row in zip(missing, process_lines([lines[i] for i in missing], params, deny_list, clock), strict=True):
            rows[i] = row
    fps = pool_lib.fingerprints(params)
    reembedded = _reembed(lines, rows, reused, params, deny_list, fps, clock)
    made = [rows[i] for i in sorted(processed)]
    new_rows = [row for row in made if row["outcome"] != "forgotten"]
    counts: Counter[str] = Counter(reused=len(reused), processed=len(new_rows),
                                   forgotten=len(made) - len(new_rows),
                                   redacted=sum(1 for row in new_rows if row["outcome"] == "ok"),
                                   embedded=len(reembedded) + (sum(1 for r in new_rows if r["outcome"] == "ok") if fps.embed else 0),
                                   reembedded=len(reembedded))
    start = time.perf_counter()
    batch = _account(lines, rows, params, deny_list, acc)
    start = _timed(clock, "account", start, len(lines))
    if contamination is not None:
        checked = len(batch.examples)
        batch = _decontaminate(batch, contamination, acc)
        _timed(clock, "decontaminate", start, checked)
    rejects.sort(key=reject_order)
    return PreparedBatch(batch.examples, batch.keys, batch.signatures, rejects, acc.ledger, clock,
                         new_rows + reembedded, counts, batch.embeddings)


@dataclass
class Examples:
    """A batch's redacted examples with their dedupe keys, signatures, user turns' keys and signatures and (semantic on) embeddings, aligned."""

    examples: list[ExampleRecord]
    keys: list[str]
    signatures: np.ndarray
    user_keys: list[str]
    user_signatures: np.ndarray
    embeddings: np.ndarray | None = None

    def take(self, kept: list[int]) -> Examples:
        """The examples at ``kept``, with everything aligned to them."""
        embeddings = self.embeddings[kept] if self.embeddings is not None else None
        return Examples([self.examples[i] for i in kept], [self.keys[i] for i in kept], self.signatures[kept],
                        [self.user_keys[i] for i in kept], self.user_signatures[kept], embeddings)


def _decontaminate(batch: Examples, index: ContaminationIndex, acc: Accounting) -> Examples:
    """The examples that copy no evaluation item (exactly, nearly or, semantic on, by meaning); the others counted and sunk."""
    decisions = index.decide_all(batch.keys, batch.signatures, batch.user_keys, batch.user_signatures, batch.embeddings)
    kept: list[int] = []
    for i, (example, decision) in enumerate(zip(batch.examples, decisions, strict=True)):
        copied = lambda reason, e=example: e.rejected("decontaminate", "duplicate", reason)  # noqa: E731
        if acc.check("decontaminate", decision, copied):
            kept.append(i)
    if len(kept) == len(batch.examples):
        return batch
    return batch.take(kept)


class LineBatch:
    """A batch of log lines with their pool rows (None: to be processed), as one task parameter.

    A plain class on purpose: Prefect walks lists, dicts and dataclasses among a task's parameters
    looking for futures (2,000 lines and rows a batch: about a tenth of a reuse build's time), but not
    other objects, and this one pickles to process and Dask workers as it is. ``fresh`` are the lines
    whose row was processed ahead for this build, ``clock`` what that took (``prepare_lines``).
    """

    __slots__ = ("lines", "rows", "fresh", "clock")

    def __init__(self, lines: list[RawLine], rows: list[dict[str, Any] | None], fresh: Sequence[int] = (),
                 clock: StageClock | None = None) -> None:
        self.lines, self.rows = lines, rows
        self.fresh, self.clock = list(fresh), clock

    def __len__(self) -> int:
        return len(self.lines)


class BatchFailed(RuntimeError):
    """A batch of log lines could not be prepared; the message names the lines, never their content."""


@task(name="prepare-log-batch", cache_policy=NO_CACHE, persist_result=False)
def prepare_batch(
    batch: LineBatch,
    params: DatasetParams,
    deny_list: frozenset[str],
    contamination: ContaminationIndex | None = None,
) -> PreparedBatch:
    """The heavy per-record work for one batch (see ``prepare_lines``), on the flow's task runner.

    ``batch`` holds the lines and their pool rows, looked up by the flow: only lines without one are processed.

    Raises:
        BatchFailed: naming the exception type and the batch's first and last lines only: an
            exception's own text may quote a log line (pydantic's ``input_value``), and Prefect
            keeps a failed task's message and traceback.
    """
    try:
        return prepare_lines(batch.lines, params, deny_list, contamination, batch.rows, batch.fresh, batch.clock)
    except Exception as error:  # noqa: BLE001 - re-raised without its text, which may hold personal data
        first, last = batch.lines[0], batch.lines[-1]
        raise BatchFailed(
            f"{type(error).__name__} in the batch {first.source}:{first.line} - {last.source}:{last.line}"
        ) from None


def failed_batches_error(failures: Sequence[str]) -> RuntimeError:
    """The error a build ends with when batches failed: nothing is published, the previous dataset stays."""
    shown = "; ".join(failures[:5]) + (f"; and {len(failures) - 5} more" if len(failures) > 5 else "")
    return RuntimeError(f"{len(failures)} batch(es) of log lines failed, nothing was published: {shown}")


def absorb(prepared: PreparedBatch, store: ExampleStore, tally: Ledger, rejects: BuildRejects, clock: StageClock) -> None:
    """Add a prepared batch to the build: examples to the store, counts, rejects (streamed) and stage seconds."""
    store.add(prepared.examples, prepared.exact_keys, prepared.signatures, prepared.embeddings)
    tally.merge(prepared.tally)
    rejects.batches.write_all(prepared.rejects)
    clock.merge(prepared.clock)


def line_batches(
    files: Sequence[Path], logs_dir: Path, size: int, tally: Ledger, rejects: BuildRejects
) -> Iterator[list[RawLine]]:
    """Decoded lines of every file in order, ``size`` a batch; undecodable lines are counted and streamed."""
    acc = Accounting(tally, rejects.lines.write)
    batch: list[RawLine] = []
    for path in files:
        for raw in iter_raw_lines(path, logs_dir):
            if isinstance(raw, RejectedRecord):
                acc.check("read", (False, raw.reason), lambda _, raw=raw: raw)
                continue
            batch.append(raw)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


@dataclass
class Selection:
    """What dedupe and split decided over the store: kept indices with their splits, and the reports."""

    kept: list[int]
    splits: list[SplitName]
    dropped: dict[int, str]
    """Store index -> dedupe reason of every duplicate, in store order."""
    clusters: list[DedupeCluster]
    split_report: SplitReport
    leakage: LeakageReport
    tally: Ledger = field(default_factory=Ledger)
    """The dedupe stage's counts, to merge into the build's tally."""

    capped: list[int] = field(default_factory=list)
    """Store indices over ``select.max_per_user`` (after dedupe), ascending."""
    pairs: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per stored method (minhash, containment, semantic): examples compared anew, reused from the pair store, pairs found."""

    def duplicate_records(self, store: ExampleStore) -> Iterator[RejectedRecord]:
        """A record for each example dropped after the batches (duplicates, capped), in store (input) order."""
        capped = set(self.capped)
        for i in sorted([*self.dropped, *capped]):
            if i in capped:
                yield store.rejected(i, "user_cap", "max_per_user", kind="filtered")
            else:
                yield store.rejected(i, "dedupe", self.dropped[i])


def _exact_pairs(keys: Sequence[bytes]) -> PairFinder:
    def find(survivors: list[int]) -> list[tuple[int, int]]:
        first: dict[bytes, int] = {}
        pairs = []
        for a, i in enumerate(survivors):
            b = first.setdefault(keys[i], a)
            if b != a:
                pairs.append((b, a))
        return pairs

    return find


def _near_pairs(store: ExampleStore, threshold: float) -> PairFinder:
    return lambda survivors: similar_pairs(store.signatures[survivors], threshold)


def _contained_pairs(store: ExampleStore, params: DatasetParams) -> PairFinder:
    """Containment over the survivors' shingles, their texts read back from the spool a chunk at a time.

    The pair store's rule (``hashed_containment_pairs``: exact, a function of each pair alone), for a
    build without a pool.
    """
    p = params.dedupe

    def find(survivors: list[int]) -> list[tuple[int, int]]:
        sets: list[np.ndarray] = []
        for start in range(0, len(survivors), BATCH_LINES):
            texts = [dedupe_text(e, p.include_system) for e in store.read(survivors[start : start + BATCH_LINES])]
            sets += distinct_shingle_hashes(texts, p.shingle_size)
        return hashed_containment_pairs(sets, p.containment_threshold, p.min_shingles)

    return find


def _semantic_pairs(store: ExampleStore, threshold: float) -> PairFinder:
    return lambda survivors: semantic_pairs_blockwise(store.embeddings.block, survivors, threshold)


def dedupe_stages(
    store: ExampleStore, params: DatasetParams, pairs_from_pool: bool = False
) -> list[tuple[str, PairFinder]]:
    """The methods in effect (``dedupe.methods``), in order, as ``(cluster kind, pair finder)`` over the store.

    With ``pairs_from_pool``, MinHash, containment and semantic pairs come from the pool's pair store
    (``tasks.dataset.pairs``; ``update_pool_pairs`` first), the same pairs recomputing them gives.
    """
    p = params.dedupe
    finders: dict[str, tuple[str, PairFinder]] = {
        "exact": ("exact", _exact_pairs(store.exact_keys)),
        "minhash": ("near", _near_pairs(store, p.threshold)),
        "containment": ("contained", _contained_pairs(store, params)),
        "semantic": ("semantic", _semantic_pairs(store, p.semantic_threshold)),
    }
    if pairs_from_pool:
        root = Path(params.pool_uri)
        for method, kind in (("minhash", "near"), ("containment", "contained"), ("semantic", "semantic")):
            if method in p.methods:
                finders[method] = (kind, pairs_lib.stored_finder(root, params, method, store.example_ids))
    return [finders[method] for method in DEDUPE_METHODS if method in p.methods]


def update_pool_pairs(store: ExampleStore, params: DatasetParams) -> dict[str, dict[str, int]]:
    """Bring the pool's pair store up to date for the store's examples (pool lock held); counts per method."""
    updates = {}
    for method in pairs_lib.STORED_METHODS:
        if method in params.dedupe.methods:
            u = pairs_lib.update_pairs(Path(params.pool_uri), params, method, store.example_ids)
            updates[method] = {"compared_rows": u.compared_rows, "reused_rows": u.reused_rows, "new_pairs": u.new_pairs}
    return updates


@task(name="dedupe-and-split", cache_policy=NO_CACHE, persist_result=False)
def dedupe_and_split(store: ExampleStore, params: DatasetParams, pair_store: bool = False) -> Selection:
    """Duplicate removal by each method in effect, the stable split, and the leakage check over the store.

    Each method runs over what the earlier ones kept (exact, MinHash, containment, semantic);
    each cluster keeps its best-ranked member (``ExampleStore.rank``: quality, then newest).

    With ``pair_store`` (the build: its examples are pool rows and it holds the pool's lock), the
    MinHash, containment and semantic pairs come from the pool's pair store, brought up to date first; without
    it they are computed over the store (the same pairs).

    Raises:
        ValueError: when a duplicate pair of any method straddles two splits (the build must not publish).
    """
    p = params.dedupe
    pair_updates = update_pool_pairs(store, params) if pair_store else {}
    outcome, pairs = deduplicate_staged(len(store), dedupe_stages(store, params, pairs_from_pool=pair_store), store.rank)
    acc = Accounting(Ledger())
    acc.ledger.seen("dedupe", len(store))
    for i, reason in outcome.dropped.items():
        acc.dropped("dedupe", reason, store.rejected(i, "dedupe", reason))

    def ref(i: int) -> str:
        source, line, _ = store.lineages[i]
        return f"{source}:{line}"

    clusters = [
        DedupeCluster(cluster=n, kind=c.kind, members=[ref(i) for i in c.members], kept=ref(c.kept))
        for n, c in enumerate(outcome.clusters)
    ]
    kept, capped = outcome.kept, []
    if (cap := params.select.max_per_user) is not None:
        acc.ledger.seen("user_cap", len(kept))
        kept, capped = cap_per_user(kept, store.user_hashes, store.rank, cap)
        for i in capped:
            acc.dropped("user_cap", "max_per_user", store.rejected(i, "user_cap", "max_per_user", kind="filtered"))
    splits = [assign_split(store.group_hashes[i], params.split) for i in kept]
    report = split_report(
        [store.categories[i] for i in kept], [store.group_hashes[i] for i in kept], splits, params.split
    )
    leakage = check_leakage_signed(store.signatures[kept], splits, [store.example_ids[i] for i in kept], p.threshold)
    leakage = with_method_pairs(leakage, kept, splits, store.example_ids, pairs)
    if not leakage.clean:
        raise ValueError(f"{len(leakage.cross_split_pairs)} duplicate pairs straddle splits")
    return Selection(kept, splits, dict(outcome.dropped), clusters, report, leakage, acc.ledger, capped, pair_updates)


@dataclass
class BuildResult:
    """What a build wrote."""

    manifest: DatasetManifest
    out_dir: Path
    data_card: Path


@task(name="write-dataset", cache_policy=NO_CACHE, persist_result=False)
def write_dataset(
    out_dir: Path,
    params: DatasetParams,
    store: ExampleStore,
    selection: Selection,
    rejects: BuildRejects,
    reports: list[StageReport],
    sources: list[SourceFile],
    input_lines: int,
    contamination: ContaminationIndex | None = None,
) -> BuildResult:
    """Write the dataset folder atomically (the store's spool sits in its staging folder).

    Each split file is written in example-id order, reading the kept examples back from the
    spool, so memory never holds a split. The version is registered for ``forget``.

    Raises:
        ValueError: when the accounting does not balance (nothing is published).
    """
    staging = store.spool.parent
    by_split: dict[str, list[int]] = {s: [] for s in SPLITS}
    for i, split in zip(selection.kept, selection.splits, strict=True):
        by_split[split].append(i)
    for split in SPLITS:
        by_split[split].sort(key=lambda i: store.example_ids[i])
        write_lib.write_split(staging, split, store.read_json(by_split[split]))
    rejects.duplicates.write_all(selection.duplicate_records(store))
    rejects.publish(staging)
    lineage = sorted((store.example_ids[i], s, i) for s in SPLITS for i in by_split[s])
    write_lib.write_jsonl(  # the fields of ``Lineage`` (validated when the example was made), without a model a row
        staging / "lineage.jsonl",
        ({"example_id": e, "split": s, **dict(zip(("source", "line", "request_id"), store.lineages[i], strict=True))}
         for e, s, i in lineage),
    )
    write_lib.write_jsonl(staging / "clusters.jsonl", (c.model_dump() for c in selection.clusters))
    kinds: Counter[str] = Counter()
    reasons: dict[str, dict[str, int]] = {}
    for (kind, reason), n in rejects.kinds.items():
        kinds[kind] += n
        reasons.setdefault(kind, {})[reason] = n
    store.close()  # the spool must not be published
    files = write_lib.split_files(staging)
    lengths = {s: sorted(store.token_counts[i] for i in by_split[s]) for s in SPLITS}
    cluster_sizes = Counter(len(c.members) for c in selection.clusters)
    kept_users = sorted({u for i in selection.kept if (u := store.user_hashes[i])})
    manifest = DatasetManifest(
        name=params.name,
        version=write_lib.content_version(files),
        counts=BuildCounts(
            input_lines=input_lines,
            written=len(selection.kept),
            rejected=kinds["rejected"],
            filtered=kinds["filtered"],
            duplicates=kinds["duplicate"],
            malformed=kinds["malformed"],
        ),
        reasons={k: dict(sorted(v.items())) for k, v in sorted(reasons.items())},
        splits={s: len(by_split[s]) for s in SPLITS},
        stages=reports,
        split_report=selection.split_report,
        leakage=selection.leakage,
        pii_counts=dict(sorted(store.pii_counts.items())),
        duplicate_cluster_sizes={str(k): v for k, v in sorted(cluster_sizes.items())},
        dedupe=dedupe_counts(params, selection),
        token_stats={s: _stats(lengths[s]) for s in SPLITS},
        params=params.model_dump(mode="json", exclude={"pool"}),  # where the pool lives is no part of the data
        params_fingerprint=params.model_copy(update={"pool": None}).fingerprint(),
        sources=sources,
        files=files,
        user_hashes=kept_users,
        contamination=describe(contamination) if contamination is not None else {},
    )
    if not manifest.counts.balanced:
        raise ValueError(f"accounting does not balance: {manifest.counts}")
    (staging / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (staging / "data_card.html").write_text(render_data_card(manifest, lengths), encoding="utf-8")
    write_plot_data(staging, manifest, lengths)
    write_lib.publish_dir(staging, out_dir)
    record_version(out_dir.parent, params.name, manifest.version, manifest.user_hashes)
    record_examples(out_dir.parent, params.name, manifest.version, [store.example_ids[i] for i in selection.kept])
    return BuildResult(manifest=manifest, out_dir=out_dir, data_card=out_dir / "data_card.html")


METHOD_REASONS = {"exact": "exact_duplicate", "minhash": "near_duplicate", "containment": "contained_duplicate",
                  "semantic": "semantic_duplicate"}


def dedupe_counts(params: DatasetParams, selection: Selection) -> dict[str, dict[str, int]]:
    """Per method in effect: examples it dropped and clusters it formed (zeros included)."""
    dropped = Counter(selection.dropped.values())
    kinds = Counter(c.kind for c in selection.clusters)
    kind_of = {"exact": "exact", "minhash": "near", "containment": "contained", "semantic": "semantic"}
    return {
        m: {"dropped": dropped[METHOD_REASONS[m]], "clusters": kinds[kind_of[m]]}
        for m in DEDUPE_METHODS if m in params.dedupe.methods
    }


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


def with_embedding_model(params: DatasetParams) -> DatasetParams:
    """``params`` with ``dedupe.embedding_model`` filled in from the ingest's (``ingest.embed.model``) when empty.

    Only with semantic dedupe on; the model name then travels with the params to every batch.
    """
    if "semantic" not in params.dedupe.methods or params.dedupe.embedding_model:
        return params
    model = load_params(IngestParams).embed.model
    return params.model_copy(update={"dedupe": params.dedupe.model_copy(update={"embedding_model": model})})


def load_deny_list(params: DatasetParams) -> frozenset[str]:
    """The deny-list of forgotten users named in the params."""
    return read_deny_list(Path(params.forget.deny_list))


def load_contamination(params: DatasetParams) -> ContaminationIndex:
    """The evaluation sets' index (``dataset.decontaminate``), read once a build and passed to every batch."""
    return load_index(params)
