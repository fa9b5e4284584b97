"""The ingestion flow end to end: real unstructured, model, LanceDB and Prefect."""

from __future__ import annotations

import shutil
from pathlib import Path

import lancedb
import pytest

from flows.ingest import ingest_flow
from schemas.params import ChunkParams, IndexParams, IngestParams
from tasks.ingest import versions
from tasks.ingest.search import open_corpus, search
from tests.documents import markdown, write_mixed_corpus

pytestmark = pytest.mark.usefixtures("prefect_harness")


def params_for(tmp_path: Path, source: Path, **changes) -> IngestParams:
    index = IndexParams(db=str(tmp_path / "lancedb"), docs_per_batch=4, **changes.pop("index", {}))
    return IngestParams(source_dir=str(source), index=index, **changes)


def table_rows(params: IngestParams, version: str | None = None) -> list[dict]:
    table = lancedb.connect(params.index.db).open_table(params.index.table)
    if version:
        table.checkout(version)
    return table.to_arrow().select(["chunk_id", "doc_id", "content_hash"]).to_pylist()


def manifest(params: IngestParams, version: str):
    return versions.read_manifest(versions.manifest_root(params.index), version)


@pytest.fixture()
def corpus(tmp_path):
    source = tmp_path / "docs"
    expected = write_mixed_corpus(source)
    return source, expected


def test_accounting_identity_and_failures_do_not_stop_the_run(tmp_path, corpus):
    source, expected = corpus
    report = ingest_flow(params_for(tmp_path, source))
    assert report.discovered == len(expected)
    assert report.discovered == report.unchanged + report.added + report.changed + len(report.failed)
    failed = {f.doc_id: f.reason for f in report.failed}
    assert set(failed) == {doc for doc, outcome in expected.items() if outcome != "success"}
    assert "encrypted" in failed["locked.pdf"] and failed["image.png"].startswith("unsupported type")
    assert report.published and report.version == "v1"
    rows = table_rows(params_for(tmp_path, source))
    assert {row["doc_id"] for row in rows} == {doc for doc, outcome in expected.items() if outcome == "success"}
    assert len(rows) == report.chunks_written == manifest(params_for(tmp_path, source), "v1").chunk_count


def test_second_run_skips_everything(tmp_path, corpus):
    source, _ = corpus
    params = params_for(tmp_path, source)
    first = ingest_flow(params)
    second = ingest_flow(params)
    assert second.unchanged == first.added and second.added == second.changed == second.removed == 0
    assert not second.published and second.version == first.version
    assert second.chunks_written == 0 and "extract" not in second.timings
    assert {f.doc_id for f in second.failed} == {f.doc_id for f in first.failed}
    assert versions.read_pointer(versions.manifest_root(params.index), versions.CURRENT) == "v1"


def test_editing_one_file_reembeds_only_it_and_old_version_stays_searchable(tmp_path, corpus):
    source, _ = corpus
    params = params_for(tmp_path, source)
    ingest_flow(params)
    before = {row["chunk_id"]: row["doc_id"] for row in table_rows(params)}
    (source / "billing.md").write_text(markdown("billing") + "\n## Disputes\n\nChargebacks are contested by the finance desk within 45 days.\n")
    report = ingest_flow(params)
    assert (report.added, report.changed, report.removed) == (0, 1, 0)
    v2 = manifest(params, "v2")
    assert v2.diff.changed == ("billing.md",) and v2.parent_version == "v1"
    after = {row["chunk_id"]: row["doc_id"] for row in table_rows(params)}
    assert report.chunks_written == len(v2.documents["billing.md"].chunk_ids)
    assert {c: d for c, d in after.items() if d != "billing.md"} == {c: d for c, d in before.items() if d != "billing.md"}
    assert set(after) == {chunk for entry in v2.documents.values() for chunk in entry.chunk_ids}
    old, new = open_corpus(params.index, "v1"), open_corpus(params.index, "v2")
    old_hits = search(old, ["chargebacks contested by the finance desk"], k=20, mode="fts")[0]
    new_hits = search(new, ["chargebacks contested by the finance desk"], k=3, mode="fts")[0]
    assert not any("Chargebacks" in hit.text for hit in old_hits)
    assert new_hits and new_hits[0].doc_id == "billing.md" and "Chargebacks" in new_hits[0].text


def test_deleting_a_file_removes_its_chunks(tmp_path, corpus):
    source, _ = corpus
    params = params_for(tmp_path, source)
    ingest_flow(params)
    (source / "security.docx").unlink()
    report = ingest_flow(params)
    assert report.removed == 1 and report.published
    assert "security.docx" not in {row["doc_id"] for row in table_rows(params)}
    assert manifest(params, "v2").diff.removed == ("security.docx",)
    assert "security.docx" in {row["doc_id"] for row in table_rows(params, "v1")}


def test_incremental_cleanup_keeps_documents_missing_from_a_partial_source(tmp_path, corpus):
    source, _ = corpus
    ingest_flow(params_for(tmp_path, source))
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(source / "billing.md", partial / "billing.md")
    report = ingest_flow(params_for(tmp_path, partial, index={"cleanup": "incremental"}))
    assert report.removed == 0 and report.unchanged == 1
    assert "security.docx" in {row["doc_id"] for row in table_rows(params_for(tmp_path, partial))}


def test_changing_chunker_params_reprocesses_everything(tmp_path, corpus):
    source, _ = corpus
    first = ingest_flow(params_for(tmp_path, source))
    second = ingest_flow(params_for(tmp_path, source, chunk=ChunkParams(max_tokens=64)))
    assert second.changed == first.added and second.unchanged == 0 and second.published
    rows = table_rows(params_for(tmp_path, source))
    assert len(rows) == second.chunks_written == len({row["chunk_id"] for row in rows})


def test_named_versions_are_immutable(tmp_path, corpus):
    source, _ = corpus
    report = ingest_flow(params_for(tmp_path, source, version_name="2026-11-launch"))
    assert report.version == "2026-11-launch"
    published = manifest(params_for(tmp_path, source), "2026-11-launch")
    (source / "billing.md").write_text(markdown("billing") + "\nOne more line about invoices.\n")
    with pytest.raises(ValueError, match="already published"):
        ingest_flow(params_for(tmp_path, source, version_name="2026-11-launch"))
    assert manifest(params_for(tmp_path, source), "2026-11-launch") == published
    assert ingest_flow(params_for(tmp_path, source)).version == "2026-11-launch.1"


def test_a_failed_batch_fails_its_documents_and_the_run_goes_on(tmp_path, corpus, monkeypatch):
    """A batch task that dies as a whole (a worker lost) must not stop the run nor lose the other batches."""
    from tasks.ingest import prefect_tasks as steps

    source, expected = corpus
    real, calls = steps.extract_batch, []

    def dies_on_the_first_batch(sources, params):
        calls.append([s.doc_id for s in sources])
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return real(sources, params)

    monkeypatch.setattr(steps, "extract_batch", dies_on_the_first_batch)
    report = ingest_flow(params_for(tmp_path, source))
    failed = {f.doc_id: f.reason for f in report.failed}
    assert len(calls) > 1 and all(failed[doc].startswith("batch failed:") and "worker lost" in failed[doc] for doc in calls[0])
    assert report.published and report.added > 0
    assert report.discovered == report.unchanged + report.added + report.changed + len(report.failed)
    second = ingest_flow(params_for(tmp_path, source))  # the lost batch is tried again on the next run
    assert second.added == sum(expected[doc] == "success" for doc in calls[0]) > 0
