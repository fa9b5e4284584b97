"""Prefect tasks of the ingestion flow: thin wrappers over the pure steps and the LanceDB edge.

Each task takes schema records and params (never a live connection), so it can run in another
process or on a Dask worker; ``task.fn(...)`` runs the logic without Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.corpus import CorpusManifest, ModelInfo, StageTiming
from schemas.documents import Chunk, ChunkedDocument, DocumentStatus, ExtractedDocument, SourceDocument
from schemas.params import ChunkParams, EmbedParams, ExtractParams, IndexParams, IngestParams
from tasks import index, versions
from tasks.chunk import chunk_documents
from tasks.discover import discover_documents
from tasks.embed import describe_model, load_embedder
from tasks.extract import extract_documents
from tasks.models import split_sentences
from tasks.plan import IngestPlan, RunResult, plan_ingest
from tasks.retry import retry_on_transient

_IO_RETRIES = {"retries": 3, "retry_delay_seconds": [1, 5, 15], "retry_condition_fn": retry_on_transient}


@dataclass
class StageClock:
    """Accumulates wall time and item counts per stage over a run."""

    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, items: int = 0) -> Iterator[None]:
        """Time one pass of a stage and add ``items`` to its count."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.items[name] = self.items.get(name, 0) + items

    def timings(self) -> dict[str, StageTiming]:
        """Per-stage timings for the report."""
        return {name: StageTiming(seconds=seconds, items=self.items.get(name, 0)) for name, seconds in self.seconds.items()}


@task(name="discover-documents", cache_policy=NO_CACHE)
def discover(source_dir: str) -> list[SourceDocument]:
    """List and hash the files under the source folder."""
    return discover_documents(source_dir)


@task(name="read-last-version", cache_policy=NO_CACHE)
def last_version(params: IndexParams) -> CorpusManifest | None:
    """The last published manifest, parent of this run."""
    return versions.latest_manifest(versions.manifest_root(params))


@task(name="identify-embedding-model", cache_policy=NO_CACHE)
def identify_model(params: EmbedParams, parent: CorpusManifest | None) -> ModelInfo:
    """Fingerprint the embedding model (loading it only when its files changed since the parent)."""
    return describe_model(params, parent.model if parent else None)


@task(name="plan-changes", cache_policy=NO_CACHE)
def plan(sources: list[SourceDocument], parent: CorpusManifest | None, params: IndexParams, fingerprint: str) -> IngestPlan:
    """Compare the discovered files with the last published version."""
    return plan_ingest(sources, parent, fingerprint, params.cleanup)


@task(name="prepare-table", cache_policy=NO_CACHE, **_IO_RETRIES)
def prepare_table(params: IndexParams, dimension: int, parent: CorpusManifest | None) -> int:
    """Open the table at the last published version, rolling back unpublished writes."""
    table = index.open_for_writing(index.connect(params.db), params.table, dimension, parent.version if parent else None)
    return table.version


@task(name="extract", cache_policy=NO_CACHE)
def extract_batch(sources: list[SourceDocument], params: ExtractParams) -> list[ExtractedDocument]:
    """Extract a batch of documents with unstructured."""
    return extract_documents(sources, params)


@task(name="chunk", cache_policy=NO_CACHE)
def chunk_batch(documents: list[ExtractedDocument], chunk_params: ChunkParams, embed_params: EmbedParams) -> list[ChunkedDocument]:
    """Split a batch into semantic chunks (sentences embedded once).

    If the batch fails, each document is chunked alone so that only the one that fails is lost,
    marked failed with the error as its reason.
    """
    embedder = load_embedder(embed_params)

    def run(batch: list[ExtractedDocument]) -> list[ChunkedDocument]:
        return chunk_documents(
            batch, chunk_params,
            encode=embedder.encode, tokenizer=embedder.tokenizer,
            model_max_seq_length=embedder.info.max_seq_length,
            model_fingerprint=embedder.info.fingerprint,
            sentence_splitter=split_sentences,
        )

    try:
        return run(documents)
    except Exception:  # noqa: BLE001 - isolate the failing document below; its error becomes its reason
        if len(documents) == 1:
            raise
    results = []
    for document in documents:
        try:
            results.extend(run([document]))
        except Exception as error:  # noqa: BLE001 - recorded as this document's failure reason
            failed = document.model_copy(update={
                "status": DocumentStatus.FAILED, "elements": (), "errors": (f"chunking error ({type(error).__name__}): {error}"[:500],),
            })
            results.append(ChunkedDocument(extracted=failed, chunks=()))
    return results


@task(name="embed", cache_policy=NO_CACHE)
def embed_batch(chunks: list[Chunk], params: EmbedParams) -> np.ndarray:
    """Embed a batch of chunks into normalised vectors."""
    return load_embedder(params).encode([chunk.text for chunk in chunks])


@task(name="write-batch", cache_policy=NO_CACHE, **_IO_RETRIES)
def write_batch(params: IndexParams, delete_doc_ids: list[str], chunks: list[Chunk], vectors: np.ndarray, dimension: int) -> int:
    """Replace the batch's documents in the table; returns rows deleted."""
    table = index.connect(params.db).open_table(params.table)
    return index.replace_documents(table, delete_doc_ids, index.chunk_rows(chunks, vectors, dimension))


@task(name="delete-removed", cache_policy=NO_CACHE, **_IO_RETRIES)
def delete_removed(params: IndexParams, doc_ids: list[str]) -> int:
    """Delete the chunks of documents gone from the source; returns rows deleted."""
    table = index.connect(params.db).open_table(params.table)
    return index.delete_documents(table, doc_ids)


@task(name="publish-version", cache_policy=NO_CACHE, **_IO_RETRIES)
def publish(params: IngestParams, result: RunResult, parent: CorpusManifest | None, model: ModelInfo, fingerprint: str) -> CorpusManifest:
    """Refresh the full-text index, compact, tag the table version, then write the manifest.

    The version exists for readers only once its manifest and pointers are written; a run that
    dies before that leaves the last published version as it was.
    """
    db = index.connect(params.index.db)
    index.compact(db.open_table(params.index.table))
    index.refresh_indexes(db.open_table(params.index.table))
    table = db.open_table(params.index.table)
    manifest = CorpusManifest(
        version=result.version,
        table=params.index.table,
        table_version=index.tag_version(table, result.version),
        parent_version=parent.version if parent else None,
        created_at=datetime.now(timezone.utc),
        pipeline_fingerprint=fingerprint,
        model=model,
        extract=params.extract,
        chunk=params.chunk,
        embed=params.embed,
        documents=result.documents,
        failed=tuple(result.failed),
        diff=result.diff,
        chunk_count=sum(len(entry.chunk_ids) for entry in result.documents.values()),
    )
    versions.publish_manifest(versions.manifest_root(params.index), manifest, move_current=params.index.promote)
    return manifest


@task(name="clean-up-old-versions", cache_policy=NO_CACHE, **_IO_RETRIES)
def clean_up(params: IndexParams) -> None:
    """Remove untagged table versions past the retention window."""
    table = index.connect(params.db).open_table(params.table)
    index.clean_up_versions(table, params.keep_versions_days)
