"""Corpus versions: the LanceDB table schema, the published manifest, diffs, and the run report."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from schemas.params import ChunkParams, EmbedParams, ExtractParams
from schemas.timing import StageTiming

CHUNK_TABLE_COLUMNS = (
    "chunk_id", "doc_id", "content_hash", "chunk_index", "text", "section",
    "page_start", "page_end", "token_count", "vector",
)


def chunk_table_schema(dimension: int) -> pa.Schema:
    """Arrow schema of the chunks table for an embedding model of ``dimension`` outputs."""
    return pa.schema([
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("chunk_index", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("section", pa.string(), nullable=False),
        pa.field("page_start", pa.int32()),
        pa.field("page_end", pa.int32()),
        pa.field("token_count", pa.int32(), nullable=False),
        pa.field("vector", pa.list_(pa.float32(), dimension), nullable=False),
    ])


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelInfo(_Record):
    """The embedding model a corpus version was built with."""

    name: str
    fingerprint: str = Field(description="sha256 over the model's weights and max sequence length.")
    dimension: int
    max_seq_length: int
    files_signature: str | None = Field(
        None, description="Hash of the local model files' names, sizes and mtimes: while it matches, the "
        "fingerprint is reused without loading the model.",
    )
    backend: str = Field("torch", description="What ran the model (ingest.embed.backend); part of the fingerprint.")


class ManifestDocument(_Record):
    """One indexed document in a corpus version."""

    content_hash: str
    chunk_ids: tuple[str, ...]
    status: str = "success"


class FailedDocument(_Record):
    """A document that could not be indexed, with the reason."""

    doc_id: str
    reason: str
    content_hash: str | None = None


class CorpusDiff(_Record):
    """Documents that differ between two corpus versions: what a cache invalidates."""

    from_version: str | None
    to_version: str
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when no document was added, changed or removed."""
        return not (self.added or self.changed or self.removed)


class CorpusManifest(_Record):
    """A published corpus version: enough to search, diff and reproduce it."""

    version: str
    table: str
    table_version: int = Field(description="LanceDB table version the tag points at.")
    parent_version: str | None
    created_at: datetime
    pipeline_fingerprint: str = Field(description="Hash of extract/chunk params and the model fingerprint.")
    model: ModelInfo
    extract: ExtractParams
    chunk: ChunkParams
    embed: EmbedParams
    documents: dict[str, ManifestDocument]
    failed: tuple[FailedDocument, ...] = ()
    diff: CorpusDiff
    chunk_count: int


class IngestReport(_Record):
    """What one ingestion run did; ``discovered == unchanged + added + changed + len(failed)``."""

    version: str | None = Field(description="The published (or, when nothing changed, the current) version.")
    published: bool
    discovered: int
    unchanged: int
    added: int
    changed: int
    removed: int
    failed: tuple[FailedDocument, ...]
    partial: tuple[str, ...] = ()
    chunks_written: int
    chunks_deleted: int
    dropped_duplicate_chunks: int = 0
    timings: dict[str, StageTiming]

    def json_summary(self) -> dict:
        """The CLI's ``--json`` object."""
        return {
            "version": self.version,
            "published": self.published,
            "discovered": self.discovered,
            "unchanged": self.unchanged,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "failed": [{"doc_id": f.doc_id, "reason": f.reason} for f in self.failed],
            "partial": list(self.partial),
            "chunks_written": self.chunks_written,
            "chunks_deleted": self.chunks_deleted,
            "dropped_duplicate_chunks": self.dropped_duplicate_chunks,
            "timings": {
                name: {"seconds": round(t.seconds, 4), "items": t.items, "items_per_second": round(t.items_per_second, 2)}
                for name, t in self.timings.items()
            },
        }
