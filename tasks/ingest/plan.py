"""Decide what a run has to do, from the discovered files and the last published manifest (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.corpus import CorpusDiff, CorpusManifest, FailedDocument, ManifestDocument
from schemas.documents import ChunkedDocument, DocumentStatus, SourceDocument
from schemas.params import ChunkParams, ExtractParams
from tasks.ingest.versions import diff_documents


def pipeline_fingerprint(extract: ExtractParams, chunk: ChunkParams, model_fingerprint: str) -> str:
    """What every chunk depends on besides the document: a change re-processes every document."""
    payload = "\x1f".join((extract.fingerprint(), chunk.fingerprint(), model_fingerprint))
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class IngestPlan:
    """The work of one run: documents to (re)process, to keep, to remove."""

    to_process: list[SourceDocument]
    unchanged: list[SourceDocument]
    known_failures: list[FailedDocument]
    removed: list[str]
    rebuild_all: bool
    parent_documents: dict[str, ManifestDocument] = field(default_factory=dict)
    carried: dict[str, ManifestDocument] = field(default_factory=dict)
    """Parent entries that go into the new version as they are: unchanged documents, documents
    that fail again (their last good chunks stay) and, with incremental cleanup, missing ones."""


BATCH_FAILED = "batch failed: "
"""Reason prefix of documents whose whole batch task failed (a worker lost): tried again next run."""


def plan_ingest(
    sources: Sequence[SourceDocument], parent: CorpusManifest | None, fingerprint: str, cleanup: str
) -> IngestPlan:
    """Compare the discovered files with the parent version.

    Unchanged documents (same bytes, same pipeline) are skipped before extraction; a document
    that failed before with the same bytes fails again without being re-read, unless its whole
    batch failed (``BATCH_FAILED``: the document itself was never tried). With
    ``cleanup='full'`` documents missing from the source are removed; ``'incremental'`` keeps them,
    except after a model, chunker or extraction change, when every kept chunk would be stale.
    """
    rebuild_all = parent is None or parent.pipeline_fingerprint != fingerprint
    parent_documents = dict(parent.documents) if parent else {}
    failed_before = {} if rebuild_all else {f.doc_id: f for f in parent.failed}
    to_process, unchanged, known_failures = [], [], []
    for source in sources:
        previous = parent_documents.get(source.doc_id)
        failure = failed_before.get(source.doc_id)
        if not rebuild_all and previous and previous.content_hash == source.content_hash:
            unchanged.append(source)
        elif failure and failure.content_hash == source.content_hash and not failure.reason.startswith(BATCH_FAILED):
            known_failures.append(failure)
        else:
            to_process.append(source)
    missing = sorted(set(parent_documents) - {source.doc_id for source in sources})
    # after a pipeline change, kept chunks would mix two embedding spaces: missing documents go too
    removed = missing if cleanup == "full" or (rebuild_all and parent is not None) else []
    kept_ids = [source.doc_id for source in unchanged] + [f.doc_id for f in known_failures] + ([] if removed else missing)
    carried = {doc_id: parent_documents[doc_id] for doc_id in kept_ids if doc_id in parent_documents}
    return IngestPlan(to_process, unchanged, known_failures, removed, rebuild_all, parent_documents, carried)


@dataclass(frozen=True)
class BatchOutcome:
    """What one written batch changed, for the manifest and the report."""

    documents: dict[str, ManifestDocument]
    added: list[str]
    changed: list[str]
    failed: list[FailedDocument]
    partial: list[str]
    stale_kept: dict[str, ManifestDocument]
    deleted_doc_ids: list[str]


def settle_batch(chunked: Sequence[ChunkedDocument], plan: IngestPlan) -> BatchOutcome:
    """Sort processed documents into added / changed / failed and list whose old chunks go.

    A changed document that now fails keeps its previous chunks (the last good version stays
    searchable and the next run retries it), unless the whole corpus is being rebuilt.
    """
    documents, added, changed, failed, partial, stale, deleted = {}, [], [], [], [], {}, []
    for item in chunked:
        source = item.extracted.source
        previous = plan.parent_documents.get(source.doc_id)
        if item.extracted.status == DocumentStatus.FAILED or not item.chunks:
            reason = "; ".join(item.extracted.errors) or "no text extracted"
            failed.append(FailedDocument(doc_id=source.doc_id, reason=reason, content_hash=source.content_hash))
            if previous and not plan.rebuild_all:
                stale[source.doc_id] = previous
            elif previous:
                deleted.append(source.doc_id)
            continue
        if item.extracted.status == DocumentStatus.PARTIAL:
            partial.append(source.doc_id)
        documents[source.doc_id] = ManifestDocument(
            content_hash=source.content_hash,
            chunk_ids=tuple(chunk.chunk_id for chunk in item.chunks),
            status=item.extracted.status.value,
        )
        (changed if previous else added).append(source.doc_id)
        deleted.append(source.doc_id)  # also for new documents: a retried write never duplicates rows
    return BatchOutcome(documents, added, changed, failed, partial, stale, deleted)


@dataclass(frozen=True)
class RunResult:
    """The version a run would publish, and whether there is anything to publish."""

    version: str
    documents: dict[str, ManifestDocument]
    failed: list[FailedDocument]
    diff: CorpusDiff
    publish: bool


def settle_run(
    plan: IngestPlan, outcomes: Sequence[BatchOutcome], parent: CorpusManifest | None, version: str, fingerprint: str
) -> RunResult:
    """Merge carried-over and re-processed documents into the new version's document map.

    Nothing is published when no document was added, changed or removed, the failures are the
    same as before and the pipeline did not change: the run reports the parent's version.
    """
    documents: dict[str, ManifestDocument] = dict(plan.carried)
    failed = list(plan.known_failures)
    for outcome in outcomes:
        documents.update(outcome.stale_kept)
        documents.update(outcome.documents)
        failed.extend(outcome.failed)
    documents = dict(sorted(documents.items()))
    failed.sort(key=lambda failure: failure.doc_id)
    diff = diff_documents(parent.documents if parent else {}, documents, parent.version if parent else None, version)
    def failure_keys(failures) -> list[tuple]:
        return [(f.doc_id, f.content_hash, f.reason.startswith(BATCH_FAILED)) for f in failures]

    same_failures = parent is not None and failure_keys(failed) == failure_keys(parent.failed)
    unchanged = parent is not None and diff.is_empty and same_failures and parent.pipeline_fingerprint == fingerprint
    return RunResult(version=parent.version if unchanged else version, documents=documents, failed=failed, diff=diff, publish=not unchanged)
