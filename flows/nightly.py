"""The nightly run: ingest -> retrieval gate -> cache invalidation, dataset build, regression sets.

Wiring only. Each branch runs as a subflow or task with ``return_state=True``, so a branch that
fails is reported with its reason and never discards what the other branches produced; a branch
that depends on a failed one is reported as skipped. The corpus branch publishes without serving
(``promote`` off), lets the gate decide, and invalidates the cache from the previous CURRENT to
the new version only when the gate promoted it. The regression sets (PII redaction, the heaviest
task here) are submitted to the configured task runner (``runner`` in params.yaml); the ingest and
dataset subflows submit their heavy tasks to the same kind of runner. One markdown artifact lists every branch's status, counts, duration and items/s; the run ends
Failed, with the report attached, when any branch failed.
"""

import time
from collections.abc import Callable
from typing import Any

from prefect import Task, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed, State

from flows.build_dataset import build_dataset
from flows.ingest import ingest_flow
from schemas.cache import InvalidationReport
from schemas.nightly import BranchOutcome, NightlyReport
from schemas.params import IngestParams, NightlyParams, RunnerParams
from tasks.common.runners import build_runner
from tasks.ingest import versions
from tasks.ingest.lock import TableLocked, table_lock
from tasks.serving.prefect_tasks import build_regression_sets, invalidate_cache, retrieval_gate

def submit_to_runner(runner: RunnerParams, heavy: Task, parameters: dict[str, Any]) -> State:
    """Run one task on the configured task runner and wait for its final state."""
    with build_runner(runner) as task_runner:
        future = task_runner.submit(heavy, parameters)
        future.wait()
        return future.state


def run_branch(name: str, call: Callable[[], State], measure: Callable[[Any], tuple[int, dict]]) -> tuple[BranchOutcome, Any]:
    """Run one branch to its final state; a failure becomes an outcome with the state's message."""
    start = time.perf_counter()
    state = call()
    seconds = round(time.perf_counter() - start, 3)
    if not state.is_completed():
        return BranchOutcome(name=name, status="failed", seconds=seconds, reason=state.message or state.name), None
    result = state.result()
    items, counts = measure(result)
    return BranchOutcome(name=name, status="completed", seconds=seconds, items=items, counts=counts), result


def skipped(name: str, reason: str) -> BranchOutcome:
    """A branch that did not run, and why."""
    return BranchOutcome(name=name, status="skipped", reason=reason)


def measure_ingest(report) -> tuple[int, dict]:
    """Items and counts of the ingest branch."""
    counts = {"version": report.version, "published": str(report.published), "discovered": report.discovered,
              "added": report.added, "changed": report.changed, "removed": report.removed,
              "failed": len(report.failed), "chunks_written": report.chunks_written}
    return report.discovered, counts


def measure_gate(result) -> tuple[int, dict]:
    """Items and counts of the retrieval-gate branch."""
    metrics = {name: round(summary.mean, 4) for name, summary in result.evaluation.metrics.items()}
    return result.evaluation.queries, {"action": result.action, "current": result.current, **metrics}


def measure_invalidation(report: InvalidationReport) -> tuple[int, dict]:
    """Items and counts of the cache-invalidation branch."""
    counts = {"from": report.from_version, "to": report.to_version, "changed_documents": report.changed_documents,
              "removed_documents": report.removed_documents, "deleted": report.deleted_for_documents}
    return report.changed_documents + report.removed_documents, counts


def measure_dataset(summary) -> tuple[int, dict]:
    """Items and counts of the dataset branch."""
    counts = {"version": summary.version, "input_lines": summary.input_lines, "written": summary.written,
              "rejected": summary.rejected, "filtered": summary.filtered, "duplicates": summary.duplicates,
              "malformed": summary.malformed}
    return summary.input_lines, counts


def measure_regression(counts: dict[str, int]) -> tuple[int, dict]:
    """Items and counts of the regression-sets branch."""
    return counts.get("total", 0), counts


def summary_markdown(report: NightlyReport) -> str:
    """The run's artifact: one row per branch."""
    rows = [
        f"| {o.name} | {o.status} | {o.seconds:.2f} | {o.items} | {o.items_per_second:.1f} | "
        + ", ".join(f"{key} {value}" for key, value in o.counts.items()).replace("|", "/")
        + f" | {(o.reason or '').replace('|', '/')} |"
        for o in report.branches
    ]
    failed = ", ".join(o.name for o in report.failed) or "none"
    header = ["# Nightly run", "", f"Failed branches: {failed}", "",
              "| branch | status | seconds | items | items/s | counts | reason |", "|---|---|---|---|---|---|---|"]
    return "\n".join(header + rows)


def corpus_branches(params: NightlyParams) -> list[BranchOutcome]:
    """Under the table's ingest lock, run the corpus branches; a lock not obtained fails the ingest branch."""
    held = params.ingest.model_copy(update={"index": params.ingest.index.model_copy(update={"promote": False})})
    try:
        with table_lock(held.index):
            return locked_corpus_branches(params, held)
    except TableLocked as error:
        reason = "ingest failed"
        return [BranchOutcome(name="ingest", status="failed", reason=str(error)), skipped("retrieval-gate", reason), skipped("invalidate-cache", reason)]


def locked_corpus_branches(params: NightlyParams, held: IngestParams) -> list[BranchOutcome]:
    """Ingest without serving, gate the new version, and invalidate the cache if it was promoted."""
    root = versions.manifest_root(held.index)
    previous = versions.read_pointer(root, versions.CURRENT)
    ingest, report = run_branch("ingest", lambda: ingest_flow(held, params.runner, return_state=True), measure_ingest)
    if report is None or not report.published:
        reason = "ingest failed" if report is None else "nothing new was published"
        return [ingest, skipped("retrieval-gate", reason), skipped("invalidate-cache", reason)]
    gate, verdict = run_branch(
        "retrieval-gate", lambda: retrieval_gate(held.index, params.serving.gate, report.version, return_state=True), measure_gate
    )
    if verdict is None or verdict.action != "promoted" or previous is None:
        reason = "gate failed" if verdict is None else ("no previous CURRENT" if previous is None else f"gate: {verdict.action}")
        return [ingest, gate, skipped("invalidate-cache", reason)]
    invalidate, _ = run_branch(
        "invalidate-cache",
        lambda: invalidate_cache(params.serving, root, previous, report.version, return_state=True),
        measure_invalidation,
    )
    return [ingest, gate, invalidate]


@flow(name="nightly", description="Ingest and gate the corpus, invalidate the cache, build the dataset and the regression sets.")
def nightly(params: NightlyParams = NightlyParams()) -> NightlyReport:
    """Run every branch, report each one, and fail the run (keeping the report) if any branch failed.

    Args:
        params: Every stage's params, the schedule and the task runner (``nightly`` in params.yaml).

    Returns:
        The report of every branch (also the data of the Failed state when a branch failed).
    """
    logger = get_run_logger()
    outcomes = corpus_branches(params)
    names = params.dataset.dataset_names()  # every task dataset, from one pool update (the first build's)
    datasets = [
        run_branch(
            "build-dataset" if len(names) == 1 else f"build-dataset-{name}",
            lambda name=name: build_dataset(params.dataset.for_dataset(name), runner=params.runner, return_state=True),
            measure_dataset,
        )[0]
        for name in names
    ]
    heavy = {"logs_dir": params.dataset.logs_dir, "serving": params.serving, "dataset": params.dataset}
    regression, _ = run_branch(
        "regression-sets", lambda: submit_to_runner(params.runner, build_regression_sets, heavy), measure_regression
    )
    report = NightlyReport(branches=[*outcomes, *datasets, regression])
    for outcome in report.branches:
        logger.info(
            "%s: %s %s %s", outcome.name, outcome.status, outcome.counts, outcome.reason or "",
            extra={"event": "branch", "branch": outcome.name, "status": outcome.status, "seconds": outcome.seconds,
                   "items": outcome.items, "reason": outcome.reason},
        )
    create_markdown_artifact(key="nightly", markdown=summary_markdown(report), description="Nightly run: every branch")
    if report.failed:
        return Failed(message="failed branches: " + "; ".join(f"{o.name}: {o.reason}" for o in report.failed), data=report)
    return report
