"""LanceDB edge: open the chunks table, roll back unpublished writes, write batches, tag, clean up.

``lancedb`` is imported where a connection is made (about half the import time of an ingest
process), so a run that only checks whether anything changed (:func:`published_is_newest`,
through ``lance``) never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from schemas.corpus import chunk_table_schema
from schemas.documents import Chunk

if TYPE_CHECKING:
    import lancedb

log = logging.getLogger(__name__)
_DELETE_BATCH = 500


def connect(uri: str) -> lancedb.DBConnection:
    """Connect to a LanceDB database (a local folder or any URI LanceDB accepts)."""
    import lancedb

    return lancedb.connect(uri)


def published_is_newest(db: str, name: str, published_tag: str, dimension: int) -> bool:
    """Whether a local table's newest version is the published one with vectors of ``dimension``:
    then :func:`open_for_writing` would neither roll back nor fail, and a run with nothing to do
    may skip it. False when unsure (a remote database, no such table or tag): open it for writing.
    """
    import lance  # the Lance dataset under a local LanceDB table, without lancedb's own imports

    path = Path(db) / f"{name}.lance"
    if "://" in db or not path.is_dir():
        return False
    dataset = lance.dataset(str(path))
    try:
        published = dataset.tags.get_version(published_tag)
    except ValueError:  # lance: "Ref not found" for a missing tag
        return False
    vector = dataset.schema.field("vector") if "vector" in dataset.schema.names else None
    return dataset.version == published and vector is not None and getattr(vector.type, "list_size", None) == dimension


def table_exists(db: lancedb.DBConnection, name: str) -> bool:
    """Whether ``name`` is a table of ``db``."""
    return name in db.list_tables().tables


def open_for_writing(db: lancedb.DBConnection, name: str, dimension: int, published_tag: str | None):
    """Open the chunks table as it was at the last published version.

    Writes left by a run that failed or was killed after that version are rolled back
    (``restore`` makes the tagged version the newest), so the next run starts from exactly what
    was published. With nothing published yet, any leftover table is dropped and recreated.
    """
    if published_tag is None:
        if table_exists(db, name):
            tags = sorted(db.open_table(name).tags.list())
            if tags:
                raise LookupError(
                    f"table {name!r} has published versions ({', '.join(tags[:5])}) but no manifests were found: "
                    "point index.manifest_dir at them, or use another table"
                )
            log.warning("dropping table %r: it holds no published version (an earlier run did not finish)", name)
            db.drop_table(name)
        return db.create_table(name, schema=chunk_table_schema(dimension))
    if not table_exists(db, name):
        raise LookupError(f"corpus version {published_tag} is published but table {name!r} is missing from the database")
    table = db.open_table(name)
    existing = table.schema.field("vector").type.list_size
    if existing != dimension:
        raise ValueError(
            f"table {name!r} holds {existing}-dimensional vectors but the model gives {dimension}: "
            "ingest into another table (--table) to keep the published versions"
        )
    published = table.tags.get_version(published_tag)
    if table.version != published:
        log.warning("rolling table %r back from unpublished version %d to %s (v%d)", name, table.version, published_tag, published)
        table.checkout(published)
        table.restore()
    return table


def sql_string_list(values: Iterable[str]) -> str:
    """A SQL ``IN (...)`` list of quoted strings."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def delete_documents(table, doc_ids: Sequence[str]) -> int:
    """Delete every chunk of the given documents; returns the number of rows deleted."""
    deleted = 0
    for start in range(0, len(doc_ids), _DELETE_BATCH):
        batch = doc_ids[start:start + _DELETE_BATCH]
        before = table.count_rows()
        table.delete(f"doc_id IN ({sql_string_list(batch)})")
        deleted += before - table.count_rows()
    return deleted


def chunk_rows(chunks: Sequence[Chunk], vectors: np.ndarray, dimension: int) -> pa.Table:
    """Arrow rows of the chunks table (column order of the schema)."""
    schema = chunk_table_schema(dimension)
    columns = {
        "chunk_id": [c.chunk_id for c in chunks],
        "doc_id": [c.doc_id for c in chunks],
        "content_hash": [c.content_hash for c in chunks],
        "chunk_index": [c.chunk_index for c in chunks],
        "text": [c.text for c in chunks],
        "section": [c.section for c in chunks],
        "page_start": [c.page_start for c in chunks],
        "page_end": [c.page_end for c in chunks],
        "token_count": [c.token_count for c in chunks],
    }
    arrays = [pa.array(columns[field.name], type=field.type) for field in schema if field.name != "vector"]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), type=pa.float32())
    arrays.append(pa.FixedSizeListArray.from_arrays(flat, dimension))
    return pa.Table.from_arrays(arrays, schema=schema)


def replace_documents(table, doc_ids: Sequence[str], rows: pa.Table) -> int:
    """Delete the old chunks of ``doc_ids`` and add ``rows``: a document is never split over two calls."""
    deleted = delete_documents(table, doc_ids) if doc_ids else 0
    if rows.num_rows:
        table.add(rows)
    return deleted


def refresh_indexes(table) -> None:
    """Create the full-text index on ``text`` or bring it up to date with new rows."""
    from lancedb.index import FTS

    names = {index.name for index in table.list_indices()}
    if "text_idx" not in names:
        table.create_index("text", config=FTS(), replace=True)
    else:
        table.to_lance().optimize.optimize_indices()


def tag_version(table, tag: str) -> int:
    """Tag the table's newest version (replacing a tag left by a run that never published)."""
    if tag in table.tags.list():
        table.tags.delete(tag)
    table.tags.create(tag, table.version)
    return table.version


def compact(table) -> None:
    """Merge the small files that batch writes and deletes leave behind (a new table version)."""
    table.to_lance().optimize.compact_files()


def clean_up_versions(table, keep_days: float) -> None:
    """Remove untagged versions older than ``keep_days``; tagged (published) versions always stay."""
    table.to_lance().cleanup_old_versions(older_than=timedelta(days=keep_days), error_if_tagged_old_versions=False)
