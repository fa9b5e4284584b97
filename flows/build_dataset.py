"""Prefect flow: interaction logs -> validated, redacted, deduplicated, split, versioned chat dataset.

Wiring only: which tasks, in what order. The stages live in ``tasks/dataset``; the parameters are
``DatasetParams`` (from ``params.yaml``'s ``dataset`` section), so the Prefect UI renders a form.
"""

import itertools
from collections import Counter
import json
import re
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.utilities.annotations import quote

from schemas.dataset import SPLITS, BuildSummary
from schemas.params import DatasetParams, RunnerParams
from schemas.pool import PoolReport
from tasks.dataset import prefect_tasks as stages
from tasks.dataset import write as write_lib
from tasks.common.accounting import Ledger
from tasks.dataset.collect import STAGES, BuildRejects, ExampleStore
from tasks.dataset.ahead import NewLinesAhead
from tasks.dataset.drift import check_drift
from tasks.dataset.pool import Pool, pool_lock
from tasks.dataset.read import describe_source, find_log_files
from tasks.common.clock import StageClock, log_timings
from tasks.dataset.version import inside_dvc_stage
from tasks.common.runners import build_runner, ordered_results, parallelism, resolved_kind

def summary_markdown(summary: BuildSummary, stage_lines: list[str]) -> str:
    """The run's artifact: the accounting, the splits and a link to the data card."""
    card = Path(summary.data_card).resolve().as_uri()
    return "\n".join(
        [
            f"# Dataset `{summary.name}` version `{summary.version}`",
            "",
            "| input lines | written | rejected | filtered | duplicates | malformed |",
            "|---|---|---|---|---|---|",
            f"| {summary.input_lines} | {summary.written} | {summary.rejected} | {summary.filtered} | "
            f"{summary.duplicates} | {summary.malformed} |",
            "",
            "Splits: " + ", ".join(f"{s} {summary.splits[s]}" for s in SPLITS),
            "",
            "Stages: " + "; ".join(stage_lines),
            "",
            "| stage | items | seconds | items/s |",
            "|---|---|---|---|",
            *(f"| {name} | {t.items} | {t.seconds:.2f} | {t.items_per_second:.1f} |" for name, t in summary.timings.items()),
            "",
            "Seconds of the batch stages (parse, validate, redact, minhash, embed) add up over the runner's tasks.",
            "",
            f"[Data card]({card}) - folder `{summary.out_dir}`",
        ]
    )


@flow(name="build-dataset", log_prints=False)
def build_dataset(
    params: DatasetParams = DatasetParams(),
    out_dir: str | None = None,
    runner: RunnerParams = RunnerParams(),
) -> BuildSummary:
    """Build the fine-tuning dataset described by ``params``.

    Args:
        params: The ``dataset`` params (logs folder, name, selection, validation, redaction,
            dedupe, split, forget, publish).
        out_dir: Output folder; default ``<out_root>/<name>``.
        runner: Where the batches of log lines are prepared (parse, validate, redact PII,
            MinHash, embedding when semantic dedupe is on): threads, Prefect's process pool or a Dask cluster (``runner`` in params.yaml).

    Returns:
        The build summary (also what ``tributary build-dataset --json`` prints).
    """
    logger = get_run_logger()
    params = stages.with_embedding_model(params)
    target = Path(out_dir) if out_dir else Path(params.out_root) / params.name
    logs_dir = Path(params.logs_dir)
    files = find_log_files(logs_dir)
    sources = [describe_source(path, logs_dir) for path in files]
    input_lines = sum(source.lines for source in sources)
    deny_list = stages.load_deny_list(params)
    contamination = stages.load_contamination(params)
    if input_lines == 0:
        raise ValueError(f"no log lines under {logs_dir}: refusing to publish an empty dataset")
    tally, failures, clock, staging = Ledger(), [], StageClock(), write_lib.staging_dir(target)
    pool_counts: Counter[str] = Counter()
    with (
        BuildRejects(staging) as rejects,
        ExampleStore(staging / ".examples.spool", params.dedupe.num_perm) as store,
        pool_lock(params.pool_uri),  # the pool update: one build at a time, whole parts only
    ):
        pool = Pool.open(params.pool_uri, params)
        to_process = max(input_lines - len(pool), 0)  # what the runner is chosen for: lines the pool lacks, about
        kind = resolved_kind(runner, to_process, stages.PROCESSES_FROM)
        with (
            build_runner(runner, to_process, processes_from=stages.PROCESSES_FROM) as task_runner,
            NewLinesAhead.begin(pool, files, logs_dir, params, deny_list, runner, kind, input_lines, logger) as ahead,
        ):
            lines = stages.line_batches(files, logs_dir, stages.BATCH_LINES, tally, rejects)
            batches = (  # not ``quote``d: prefect-dask hands a task the quote itself, not its value
                {"batch": batch, "params": params, "deny_list": deny_list, "contamination": contamination}
                for batch in ahead.batches(lines)
            )
            for batch, future in ordered_results(task_runner, stages.prepare_batch, batches, parallelism(runner, task_runner) + 1):
                if not future.state.is_completed():
                    failures.append(future.state.message or "task failed")  # a BatchFailed: names lines, no content
                    logger.error("%s", failures[-1], extra={"event": "batch_failed", "lines": len(batch["batch"])})
                    continue
                prepared = future.result()
                pool.append(prepared.new_rows)  # kept even when the build fails later: the work is not lost
                pool_counts.update(prepared.pool)
                stages.absorb(prepared, store, tally, rejects, clock)
        rewritten = pool_counts.pop("reembedded", 0)  # reused rows written again with a new embedding: not new rows
        pool_report = PoolReport(uri=params.pool_uri, written=pool.written, rows=len(pool) + pool.written - rewritten,
                                 processed_ahead=ahead.served, **pool_counts)
        logger.info("pool %s: reused=%d processed=%d redacted=%d embedded=%d written=%d rows=%d", pool_report.uri,
                    pool_report.reused, pool_report.processed, pool_report.redacted, pool_report.embedded,
                    pool_report.written, pool_report.rows,
                    extra={"event": "pool", **pool_report.model_dump()})
        if failures:  # a dataset missing whole batches must not be published as a version
            raise stages.failed_batches_error(failures)
        check_drift(tally, input_lines, params.drift)  # before anything is written: the previous version stays
        with clock.stage("dedupe-and-split", len(store)):
            selection = stages.dedupe_and_split(store, params, pair_store=True)
        tally.merge(selection.tally)
        with clock.stage("write", len(selection.kept)):  # ``quote``: walking the selection's lists for futures took 7 s at 60k examples
            result = stages.write_dataset(target, params, store, quote(selection), rejects, quote(tally.reports(STAGES)),
                                          quote(sources), input_lines, quote(contamination))
    pushed = False
    if params.publish.push and not inside_dvc_stage():
        pushed = stages.push_dataset(Path.cwd(), params.publish.remote)
    m = result.manifest
    summary = BuildSummary(
        name=m.name,
        version=m.version,
        **m.counts.model_dump(),
        splits=m.splits,
        **m.splits,
        out_dir=str(result.out_dir),
        data_card=str(result.data_card),
        pushed=pushed,
        timings=clock.timings(),
        pool=pool_report,
        dedupe_pairs=selection.pairs,
    )
    stage_lines = [f"{r.stage} " + " ".join(f"{k}={v}" for k, v in r.as_flat().items()) for r in m.stages]
    for report, line in zip(m.stages, stage_lines, strict=True):
        logger.info("%s", line, extra={"event": "stage_counts", "stage": report.stage, **report.as_flat()})
    log_timings(logger, summary.timings)
    key = re.sub(r"[^a-z0-9-]+", "-", f"dataset-{m.name}".lower())
    create_markdown_artifact(
        markdown=summary_markdown(summary, stage_lines), key=key, description=f"Dataset {m.name} {m.version}"
    )
    create_table_artifact(
        table=rejects_table(Path(summary.out_dir) / "rejects.jsonl"),
        key=f"{key}-rejects",
        description=f"Dropped lines of {m.name} {m.version}: the first {REJECTS_SHOWN} of rejects.jsonl "
        "(file, line, stage, kind, reason; never the content)",
    )
    return summary


REJECTS_SHOWN = 200


def rejects_table(path: Path) -> list[dict[str, object]]:
    """The first ``REJECTS_SHOWN`` records of ``rejects.jsonl``, for the run page."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for text in itertools.islice(handle, REJECTS_SHOWN):
            record = json.loads(text)
            rows.append({key: record.get(key) for key in ("source", "line", "stage", "kind", "reason", "message")})
    return rows


@flow(name="build-datasets", log_prints=False)
def build_datasets(
    params: DatasetParams = DatasetParams(),
    names: list[str] | None = None,
    runner: RunnerParams = RunnerParams(),
) -> dict[str, BuildSummary]:
    """Build every task dataset of ``params.datasets`` (or the ``names`` given), one subflow each.

    The first build updates the pool; the others draw from it without processing a line again.
    A dataset that fails does not stop the others; the run fails afterwards, naming each failure.

    Args:
        params: The ``dataset`` params, with its ``datasets``.
        names: The datasets to build; empty: all of them (``dataset_names``).
        runner: The task runner of each build.

    Returns:
        Each built dataset's summary, by name.

    Raises:
        KeyError: for a name ``params.datasets`` does not declare.
        RuntimeError: when any dataset failed (after the others were built).
    """
    logger = get_run_logger()
    chosen = names or params.dataset_names()
    every = {name: params.for_dataset(name) for name in chosen}  # an unknown name fails before any build
    built: dict[str, BuildSummary] = {}
    failed: dict[str, str] = {}
    for name, one in every.items():
        state = build_dataset(params=one, runner=runner, return_state=True)
        if state.is_completed():
            built[name] = state.result()
        else:
            failed[name] = state.message or "failed"
            logger.error("dataset %s failed: %s", name, failed[name], extra={"event": "dataset_failed", "dataset": name})
    if failed:
        raise RuntimeError("datasets failed: " + "; ".join(f"{n}: {why}" for n, why in failed.items()))
    return built
