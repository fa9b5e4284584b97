"""Prefect tasks of the ingestion flow: thin wrappers over the pure steps and the LanceDB edge.

Each task takes schema records and params (never a live connection), so it can run in another
process or on a Dask worker; ``task.fn(...)`` runs the logic without Prefect.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import lancedb  # noqa: F401 - imported with the flow, not by the plan stage's first connect (tasks.ingest.index defers it)
import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.corpus import CorpusManifest, ModelInfo
from schemas.documents import Chunk, ChunkedDocument, DocumentStatus, ExtractedDocument, SourceDocument
from schemas.params import ChunkParams, EmbedParams, ExtractParams, IndexParams, IngestParams, RunnerParams
from tasks.ingest import index, versions
from tasks.ingest.chunk import chunk_documents
from tasks.common.clock import StageClock
from tasks.ingest.discover import discover_documents
from tasks.ingest.embed import describe_model, load_embedder
from tasks.ingest.extract import extract_documents
from tasks.common.models import split_sentences
from tasks.ingest.plan import BATCH_FAILED, IngestPlan, RunResult, plan_ingest
from tasks.common.retry import retry_on_transient
from tasks.common.runners import resolved_kind

_MODEL_LOCK = threading.Lock()
_IO_RETRIES = {"retries": 3, "retry_delay_seconds": [1, 5, 15], "retry_condition_fn": retry_on_transient}


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


def extract_batch(sources: list[SourceDocument], params: ExtractParams) -> list[ExtractedDocument]:
    """Extract a batch of documents with unstructured (a failing file is marked failed, never raised)."""
    return extract_documents(sources, params)


class VectorMemo:
    """Remembers the vectors of texts embedded in this batch, so a chunk whose text is exactly one
    sentence of the sentence pass is not embedded a second time (same model, same text)."""

    def __init__(self, encode):
        self._encode = encode
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts (all of them: the sentence pass needs every row) and remember each vector."""
        vectors = self._encode(texts)
        self.vectors.update(zip(texts, vectors))
        return vectors

    def encode_missing(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts`` in order, embedding only the ones not seen yet."""
        missing = list(dict.fromkeys(text for text in texts if text not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self._encode(missing)))
        if not texts:
            return self._encode([])
        return np.stack([self.vectors[text] for text in texts]).astype(np.float32, copy=False)


def chunk_batch(
    documents: list[ExtractedDocument], chunk_params: ChunkParams, embed_params: EmbedParams,
    memo: VectorMemo | None = None,
) -> list[ChunkedDocument]:
    """Split a batch into semantic chunks (the sentences of sections to cut embedded once).

    If the batch fails, each document is chunked alone so that only the one that fails is lost,
    marked failed with the error as its reason. With ``memo`` and model breakpoint vectors,
    the sentence vectors are kept for the embed stage.
    """
    embedder = load_embedder(embed_params)
    if chunk_params.breakpoint_vectors == "static":
        encode = embedder.encode_static
    else:
        encode = memo.encode if memo is not None else embedder.encode

    def run(batch: list[ExtractedDocument]) -> list[ChunkedDocument]:
        return chunk_documents(
            batch, chunk_params,
            encode=encode, tokenizer=embedder.tokenizer,
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
            results.append(failed_document(document.source, f"chunking error ({type(error).__name__}): {error}"))
    return results


def embed_batch(chunks: list[Chunk], params: EmbedParams) -> np.ndarray:
    """Embed a batch of chunks into normalised vectors."""
    return load_embedder(params).encode([chunk.text for chunk in chunks])


def warm_up(params: IngestParams, runner: RunnerParams) -> None:
    """Load in this process what the first batch needs (unstructured's classifier, the sentence pass, the model).

    ``tributary ingest`` calls it while its temporary Prefect server boots, so the loads overlap the
    boot instead of following it. Only for the thread runner: process and Dask workers load their own.
    """
    if resolved_kind(runner, 1, None) != "threads":
        return
    from unstructured.partition.text import partition_text

    from tasks.common.adapters.unstructured_spacy import prepare_unstructured

    prepare_unstructured(params.extract.classifier_sentences)
    partition_text(text="Warm-up. A sentence to classify.", languages=["eng"])
    split_sentences(["Warm-up. Two sentences."])
    embedder = load_embedder(params.embed)
    if params.chunk.breakpoint_vectors == "static":
        embedder.encode_static(["warm-up"])
    embedder.encode(["warm-up"])


def failed_document(source: SourceDocument, reason: str) -> ChunkedDocument:
    """A document that produced no chunks, with why (the reason is cut to 500 characters)."""
    extracted = ExtractedDocument(source=source, status=DocumentStatus.FAILED, errors=(reason[:500],))
    return ChunkedDocument(extracted=extracted, chunks=())


@dataclass
class ProcessedBatch:
    """A batch's chunked documents, their chunks' vectors (in order) and each stage's seconds."""

    chunked: list[ChunkedDocument]
    vectors: np.ndarray
    seconds: dict[str, float]

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk of the batch, in document order (the rows of ``vectors``)."""
        return [chunk for item in self.chunked for chunk in item.chunks]


@task(name="extract-chunk-embed", cache_policy=NO_CACHE, persist_result=False)
def process_batch(sources: list[SourceDocument], params: IngestParams) -> ProcessedBatch:
    """The heavy part of ingestion for one batch: extract, chunk and embed (no I/O to the index).

    It takes records and params only, so it runs on whichever task runner the flow was given
    (threads, processes, a Dask worker); each process loads the embedding model once.
    """
    clock = StageClock()
    with clock.stage("extract"):
        extracted = extract_batch(sources, params.extract)
    chunked, vectors = chunk_and_embed(extracted, params, clock)
    return ProcessedBatch(chunked=chunked, vectors=vectors, seconds=clock.seconds)


def chunk_and_embed(
    extracted: list[ExtractedDocument], params: IngestParams, clock: StageClock
) -> tuple[list[ChunkedDocument], np.ndarray]:
    """Chunk, then embed the chunks, holding the process's model lock.

    One model and tokenizer per process, and the tokenizer is not re-entrant: threads take turns.
    (A module-level function, so the task above pickles by reference onto Dask workers.)
    """
    with _MODEL_LOCK:
        memo = VectorMemo(load_embedder(params.embed).encode)
        with clock.stage("chunk"):
            chunked = chunk_batch(extracted, params.chunk, params.embed, memo)
        with clock.stage("embed"):
            vectors = memo.encode_missing([chunk.text for item in chunked for chunk in item.chunks])
    return chunked, vectors


def failed_batch(sources: list[SourceDocument], reason: str) -> ProcessedBatch:
    """What a batch whose task failed as a whole leaves: every document failed with the reason."""
    return ProcessedBatch(
        chunked=[failed_document(source, BATCH_FAILED + reason) for source in sources],
        vectors=np.zeros((0, 0), dtype=np.float32),
        seconds={},
    )


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
