"""RAG ingestion flow: discover -> plan -> (extract -> chunk -> embed on the task runner; write) per batch -> publish."""

import re
import sys

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from tqdm import tqdm

from schemas.corpus import IngestReport
from schemas.params import IngestParams, RunnerParams
from tasks.ingest import prefect_tasks as steps
from tasks.common.clock import StageClock, log_timings
from tasks.ingest.plan import pipeline_fingerprint, settle_batch, settle_run
from tasks.ingest.report import ingest_summary_markdown
from tasks.common.runners import build_runner, ordered_results, parallelism
from tasks.ingest.lock import log_lock_wait, table_lock
from tasks.ingest.progress import IngestProgress
from tasks.ingest.versions import manifest_root, next_version_name


@flow(name="ingest", description="Index a folder of documents in LanceDB and publish a corpus version.")
def ingest_flow(
    params: IngestParams = IngestParams(),
    runner: RunnerParams = RunnerParams(),
) -> IngestReport:
    """Ingest ``params.source_dir`` incrementally and publish a corpus version when anything changed.

    Callers load the params with ``load_params`` (the CLI, ``tributary serve``'s deployments, the
    DVC stage through the CLI); the signature's defaults are the models' own, which the UI's form shows.

    Args:
        params: The ``ingest`` params (source folder, extraction, chunking, embedding, index).
        runner: Where extract, chunk and embed run, a batch a task (``runner`` in params.yaml):
            threads beside the flow (default), Prefect's process pool, or a Dask cluster.

    Returns:
        What the run did: counts, failed documents with reasons, per-stage timings.

    Raises:
        TableLocked: when another run holds the table's ingest lock, from rollback to publish
            (``index.lock``: ``fail`` at once, or ``wait`` up to ``index.lock_timeout_s``).
    """
    logger = get_run_logger()
    clock = StageClock()
    with clock.stage("discover"):
        sources = steps.discover(params.source_dir)
    clock.items["discover"] = len(sources)
    with table_lock(params.index, on_wait=lambda holder: log_lock_wait(logger, params.index, holder)) as waited:
        clock.add("lock-wait", waited, 0)
        with clock.stage("plan"):
            parent = steps.last_version(params.index)
            version = next_version_name(manifest_root(params.index), parent, params.version_name)
            model = steps.identify_model(params.embed, parent)
            fingerprint = pipeline_fingerprint(params.extract, params.chunk, model.fingerprint)
            plan = steps.plan(sources, parent, params.index, fingerprint)
            steps.prepare_table(params.index, model.dimension, parent)
        logger.info(
            "%d documents: %d unchanged, %d to process, %d removed", len(sources), len(plan.unchanged), len(plan.to_process), len(plan.removed),
            extra={"event": "plan", "discovered": len(sources), "unchanged": len(plan.unchanged), "to_process": len(plan.to_process), "removed": len(plan.removed)},
        )

        outcomes, written, deleted, duplicates = [], 0, 0, 0
        size = params.index.docs_per_batch
        batches = [{"sources": plan.to_process[i:i + size], "params": params} for i in range(0, len(plan.to_process), size)]
        with (
            build_runner(runner, len(plan.to_process)) as task_runner,
            tqdm(total=len(plan.to_process), desc="ingest", unit="doc", file=sys.stderr, disable=not batches) as progress,
        ):
            in_flight = parallelism(runner, task_runner) + 1  # one more than the runner works on: writes overlap compute
            meter = IngestProgress(total_docs=len(plan.to_process))
            board = create_progress_artifact(0.0, key=artifact_key("ingest-progress", params), description=meter.describe()) if batches else None
            for batch, future in ordered_results(task_runner, steps.process_batch, batches, in_flight):
                processed = future.result() if future.state.is_completed() else steps.failed_batch(batch["sources"], future.state.message or "task failed")
                for stage, seconds in processed.seconds.items():
                    clock.add(stage, seconds, len(batch["sources"]) if stage != "embed" else len(processed.vectors))
                chunks = processed.chunks
                outcome = settle_batch(processed.chunked, plan)
                with clock.stage("write", len(chunks)):
                    deleted += steps.write_batch(params.index, outcome.deleted_doc_ids, chunks, processed.vectors, model.dimension)
                outcomes.append(outcome)
                written += len(chunks)
                duplicates += sum(item.dropped_duplicate_chunks for item in processed.chunked)
                meter.advance(len(batch["sources"]), len(chunks))
                progress.set_postfix_str(f"{meter.chunks} chunks, {meter.chunks_per_second():.1f} chunks/s", refresh=False)
                progress.update(len(batch["sources"]))
                update_progress_artifact(board, meter.percent(), description=meter.describe())
        if plan.removed:
            with clock.stage("write", 0):
                deleted += steps.delete_removed(params.index, plan.removed)

        result = settle_run(plan, outcomes, parent, version, fingerprint)
        if result.publish:
            with clock.stage("publish", 1):
                steps.publish(params, result, parent, model, fingerprint)
                steps.clean_up(params.index)

    report = IngestReport(
        version=result.version,
        published=result.publish,
        discovered=len(sources),
        unchanged=len(plan.unchanged),
        added=sum(len(o.added) for o in outcomes),
        changed=sum(len(o.changed) for o in outcomes),
        removed=len(plan.removed),
        failed=tuple(result.failed),
        partial=tuple(doc for o in outcomes for doc in o.partial),
        chunks_written=written,
        chunks_deleted=deleted,
        dropped_duplicate_chunks=duplicates,
        timings=clock.timings(),
    )
    create_markdown_artifact(
        key=artifact_key("ingest", params),
        markdown=ingest_summary_markdown(report, params.index.table),
        description=f"Ingestion of {params.source_dir}: version {result.version}",
    )
    log_timings(logger, report.timings)
    for failure in result.failed:
        logger.warning("failed: %s: %s", failure.doc_id, failure.reason, extra={"event": "document_failed", "doc_id": failure.doc_id, "reason": failure.reason})
    return report


def artifact_key(prefix: str, params: IngestParams) -> str:
    """A Prefect artifact key for this table (lowercase letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{prefix}-{params.index.table}".lower())


