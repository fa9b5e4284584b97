"""Planning a run against the last published manifest (pure)."""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.corpus import CorpusDiff, CorpusManifest, FailedDocument, ManifestDocument, ModelInfo
from schemas.documents import SourceDocument
from schemas.params import ChunkParams, EmbedParams, ExtractParams
from tasks.ingest.plan import BATCH_FAILED, plan_ingest
from tasks.common.retry import is_transient


def source(doc_id: str, content: str) -> SourceDocument:
    return SourceDocument(doc_id=doc_id, path=f"/x/{doc_id}", content_hash=content, size_bytes=1)


def parent(documents: dict[str, str], failed: dict[str, str] | None = None, fingerprint: str = "fp") -> CorpusManifest:
    return CorpusManifest(
        version="v1", table="chunks", table_version=3, parent_version=None, created_at=datetime.now(timezone.utc),
        pipeline_fingerprint=fingerprint, model=ModelInfo(name="m", fingerprint="w", dimension=4, max_seq_length=256),
        extract=ExtractParams(), chunk=ChunkParams(), embed=EmbedParams(),
        documents={doc: ManifestDocument(content_hash=h, chunk_ids=(f"{doc}-c",)) for doc, h in documents.items()},
        failed=tuple(FailedDocument(doc_id=d, reason="bad", content_hash=h) for d, h in (failed or {}).items()),
        diff=CorpusDiff(from_version=None, to_version="v1"), chunk_count=len(documents),
    )


def test_unchanged_changed_added_removed():
    plan = plan_ingest([source("a", "1"), source("b", "2*"), source("c", "3")], parent({"a": "1", "b": "2", "d": "4"}), "fp", "full")
    assert [s.doc_id for s in plan.unchanged] == ["a"]
    assert [s.doc_id for s in plan.to_process] == ["b", "c"]
    assert plan.removed == ["d"] and set(plan.carried) == {"a"}


def test_incremental_cleanup_keeps_missing_documents():
    plan = plan_ingest([source("a", "1")], parent({"a": "1", "d": "4"}), "fp", "incremental")
    assert plan.removed == [] and set(plan.carried) == {"a", "d"}


def test_known_failure_with_same_bytes_is_not_reread():
    plan = plan_ingest([source("bad.pdf", "x")], parent({}, failed={"bad.pdf": "x"}), "fp", "full")
    assert plan.to_process == [] and [f.doc_id for f in plan.known_failures] == ["bad.pdf"]
    retried = plan_ingest([source("bad.pdf", "y")], parent({}, failed={"bad.pdf": "x"}), "fp", "full")
    assert [s.doc_id for s in retried.to_process] == ["bad.pdf"]


def test_a_document_whose_whole_batch_failed_is_tried_again():
    manifest = parent({}, failed={"a.md": "x"})
    lost = manifest.model_copy(update={"failed": (FailedDocument(doc_id="a.md", reason=BATCH_FAILED + "worker lost", content_hash="x"),)})
    assert [s.doc_id for s in plan_ingest([source("a.md", "x")], lost, "fp", "full").to_process] == ["a.md"]
    assert plan_ingest([source("a.md", "x")], manifest, "fp", "full").to_process == []


def test_pipeline_change_reprocesses_everything():
    plan = plan_ingest([source("a", "1")], parent({"a": "1"}, failed={"b": "2"}), "other", "full")
    assert plan.rebuild_all and [s.doc_id for s in plan.to_process] == ["a"] and plan.known_failures == []


def test_pipeline_change_removes_missing_documents_even_with_incremental_cleanup():
    """Regression: kept chunks of a partial source mixed two embedding spaces after a model change."""
    plan = plan_ingest([source("a", "1")], parent({"a": "1", "d": "4"}), "other", "incremental")
    assert plan.removed == ["d"] and plan.carried == {}


def test_version_names_are_restricted_to_tag_safe_characters():
    import pytest
    from pydantic import ValidationError

    from schemas.params import IngestParams

    assert IngestParams(version_name="2026-11-27.rc_1").version_name == "2026-11-27.rc_1"
    for bad in ("a/b", "my version", "café", ".hidden"):
        with pytest.raises(ValidationError):
            IngestParams(version_name=bad)


def test_only_transient_errors_are_retried():
    assert is_transient(TimeoutError()) and is_transient(ConnectionResetError())
    assert is_transient(RuntimeError("lance error: object store: 503 SlowDown"))
    assert not is_transient(FileNotFoundError()) and not is_transient(ValueError("bad data"))
    assert not is_transient(RuntimeError("lance error: schema mismatch"))
