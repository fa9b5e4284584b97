"""The LanceDB edge: a table with published versions is never dropped, dimensions are checked."""

from __future__ import annotations

import pytest

from tasks.ingest import index


def test_a_tagged_table_without_manifests_is_refused_not_dropped(tmp_path):
    """Regression: a run that could not find the manifests dropped every published version."""
    db = index.connect(str(tmp_path / "db"))
    table = index.open_for_writing(db, "chunks", 4, None)
    table.add([{"chunk_id": "c", "doc_id": "d", "content_hash": "h", "chunk_index": 0, "text": "t", "section": "",
                "page_start": None, "page_end": None, "token_count": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
    index.tag_version(table, "v1")
    with pytest.raises(LookupError, match="no manifests were found"):
        index.open_for_writing(db, "chunks", 4, None)
    assert db.open_table("chunks").count_rows() == 1


def test_an_untagged_leftover_table_is_recreated(tmp_path):
    db = index.connect(str(tmp_path / "db"))
    index.open_for_writing(db, "chunks", 4, None).add([{"chunk_id": "c", "doc_id": "d", "content_hash": "h", "chunk_index": 0,
        "text": "t", "section": "", "page_start": None, "page_end": None, "token_count": 1, "vector": [0.0] * 4}])
    assert index.open_for_writing(db, "chunks", 4, None).count_rows() == 0


def test_a_model_with_another_dimension_is_a_clear_error(tmp_path):
    db = index.connect(str(tmp_path / "db"))
    table = index.open_for_writing(db, "chunks", 4, None)
    index.tag_version(table, "v1")
    with pytest.raises(ValueError, match="4-dimensional vectors but the model gives 8"):
        index.open_for_writing(db, "chunks", 8, "v1")


def test_sql_string_list_quotes_quotes():
    assert index.sql_string_list(["a", "o'brien.md"]) == "'a', 'o''brien.md'"
