"""Records of the ingestion stages: source files, extracted elements, per-document results, chunks."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceDocument(_Record):
    """A file found under the source root, identified by its relative path."""

    doc_id: str = Field(description="Path relative to the source root, '/'-separated.")
    path: str = Field(description="Absolute path on this machine (never stored in a manifest).")
    content_hash: str = Field(description="sha256 of the file's bytes.")
    size_bytes: int
    read_error: str | None = Field(None, description="Why the file could not be read at discovery, if it could not.")


class Element(_Record):
    """One piece of extracted text with where it came from."""

    text: str
    element_type: str = Field(description="unstructured's category: Title, NarrativeText, ListItem, Table, ...")
    page_number: int | None = None
    section_path: tuple[str, ...] = Field(default=(), description="Titles above this element, outermost first.")


class DocumentStatus(str, Enum):
    """Outcome of one document, as in the chapter's DocumentIngestionPipeline."""

    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"


class ExtractedDocument(_Record):
    """A document after extraction: its elements, or why there are none."""

    source: SourceDocument
    status: DocumentStatus
    elements: tuple[Element, ...] = ()
    errors: tuple[str, ...] = ()
    encoding: str | None = Field(None, description="Detected text encoding, for text formats.")


class Chunk(_Record):
    """A retrievable piece of one document, bounded by the embedding model's tokens."""

    chunk_id: str
    doc_id: str
    content_hash: str
    chunk_index: int
    text: str
    section: str = Field(description="Section-title path joined with ' > '.")
    page_start: int | None = None
    page_end: int | None = None
    token_count: int


class ChunkedDocument(_Record):
    """The chunks of one document plus what was dropped on the way."""

    extracted: ExtractedDocument
    chunks: tuple[Chunk, ...]
    dropped_duplicate_chunks: int = 0


class DocumentResult(_Record):
    """Per-document outcome reported by a run."""

    doc_id: str
    status: DocumentStatus
    chunks_indexed: int = 0
    errors: tuple[str, ...] = ()
