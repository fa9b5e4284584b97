"""RAG ingestion flow: discover -> plan -> (extract -> chunk -> embed -> write) per batch -> publish."""

import re
import sys

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from tqdm import tqdm

from schemas.corpus import IngestReport
from schemas.params import IngestParams, load_params
from tasks import ingest as steps
from tasks.plan import pipeline_fingerprint, settle_batch, settle_run
from tasks.report import ingest_summary_markdown
from tasks.versions import manifest_root, next_version_name


@flow(name="ingest", description="Index a folder of documents in LanceDB and publish a corpus version.")
def ingest_flow(params: IngestParams = load_params("ingest", IngestParams)) -> IngestReport:
    """Ingest ``params.source_dir`` incrementally and publish a corpus version when anything changed."""
    logger = get_run_logger()
    clock = steps.StageClock()
    with clock.stage("discover"):
        sources = steps.discover(params.source_dir)
    clock.items["discover"] = len(sources)
    with clock.stage("plan"):
        parent = steps.last_version(params.index)
        version = next_version_name(manifest_root(params.index), parent, params.version_name)
        model = steps.identify_model(params.embed, parent)
        fingerprint = pipeline_fingerprint(params.extract, params.chunk, model.fingerprint)
        plan = steps.plan(sources, parent, params.index, fingerprint)
        steps.prepare_table(params.index, model.dimension, parent)
    logger.info("%d documents: %d unchanged, %d to process, %d removed", len(sources), len(plan.unchanged), len(plan.to_process), len(plan.removed))

    outcomes, written, deleted, duplicates = [], 0, 0, 0
    size = params.index.docs_per_batch
    with tqdm(total=len(plan.to_process), desc="ingest", unit="doc", file=sys.stderr, disable=not plan.to_process) as progress:
        for start in range(0, len(plan.to_process), size):
            batch = plan.to_process[start:start + size]
            with clock.stage("extract", len(batch)):
                extracted = steps.extract_batch(batch, params.extract)
            with clock.stage("chunk", len(batch)):
                chunked = steps.chunk_batch(extracted, params.chunk, params.embed)
            chunks = [chunk for item in chunked for chunk in item.chunks]
            with clock.stage("embed", len(chunks)):
                vectors = steps.embed_batch(chunks, params.embed)
            outcome = settle_batch(chunked, plan)
            with clock.stage("write", len(chunks)):
                deleted += steps.write_batch(params.index, outcome.deleted_doc_ids, chunks, vectors, model.dimension)
            outcomes.append(outcome)
            written += len(chunks)
            duplicates += sum(item.dropped_duplicate_chunks for item in chunked)
            progress.update(len(batch))
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
        key=re.sub(r"[^a-z0-9-]+", "-", f"ingest-{params.index.table}".lower()),
        markdown=ingest_summary_markdown(report, params.index.table),
        description=f"Ingestion of {params.source_dir}: version {result.version}",
    )
    for failure in result.failed:
        logger.warning("failed: %s: %s", failure.doc_id, failure.reason)
    return report
