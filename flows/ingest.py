"""RAG ingestion flow: discover -> plan -> (extract -> chunk -> embed -> write) per batch -> publish."""

from __future__ import annotations

import sys

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from tqdm import tqdm

from schemas.corpus import CorpusManifest, IngestReport
from schemas.params import IngestParams, load_params
from tasks import ingest as steps
from tasks.plan import pipeline_fingerprint, settle_batch
from tasks.report import ingest_summary_markdown
from tasks.versions import diff_documents, next_version_name


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

    documents, failed = steps.merge_outcomes(plan, outcomes)
    version = next_version_name(parent, params.version_name)
    diff = diff_documents(parent.documents if parent else {}, documents, parent.version if parent else None, version)
    same_failures = parent is not None and [(f.doc_id, f.content_hash) for f in failed] == [(f.doc_id, f.content_hash) for f in parent.failed]
    publish = parent is None or not diff.is_empty or not same_failures or parent.pipeline_fingerprint != fingerprint
    if publish:
        with clock.stage("publish", 1):
            manifest: CorpusManifest = steps.publish(params, {
                "version": version,
                "parent_version": parent.version if parent else None,
                "pipeline_fingerprint": fingerprint,
                "model": model,
                "extract": params.extract,
                "chunk": params.chunk,
                "embed": params.embed,
                "documents": documents,
                "failed": tuple(failed),
                "diff": diff,
                "chunk_count": sum(len(entry.chunk_ids) for entry in documents.values()),
            })
            steps.clean_up(params.index)
        version = manifest.version
    else:
        version = parent.version

    report = IngestReport(
        version=version,
        published=publish,
        discovered=len(sources),
        unchanged=len(plan.unchanged),
        added=sum(len(o.added) for o in outcomes),
        changed=sum(len(o.changed) for o in outcomes),
        removed=len(plan.removed),
        failed=tuple(failed),
        partial=tuple(doc for o in outcomes for doc in o.partial),
        chunks_written=written,
        chunks_deleted=deleted,
        dropped_duplicate_chunks=duplicates,
        timings=clock.timings(),
    )
    create_markdown_artifact(
        key=f"ingest-{params.index.table}".lower().replace("_", "-"),
        markdown=ingest_summary_markdown(report, params.index.table),
        description=f"Ingestion of {params.source_dir}: version {version}",
    )
    for failure in failed:
        logger.warning("failed: %s: %s", failure.doc_id, failure.reason)
    return report
