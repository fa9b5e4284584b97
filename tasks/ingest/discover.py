"""Find the documents under a source root and hash their bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from schemas.documents import SourceDocument

_HASH_BLOCK = 1 << 20


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def discover_documents(source_dir: str | Path) -> list[SourceDocument]:
    """List every regular file under ``source_dir`` (hidden files and folders skipped), sorted by id.

    The document id is the path relative to ``source_dir`` with '/' separators, so it is the
    same on every machine and stable across runs (bytes of a name that are not UTF-8 appear as
    ``\\xNN``). A file that cannot be read is listed with ``read_error`` and fails in extraction.

    Raises:
        NotADirectoryError: when ``source_dir`` is not a folder.
    """
    root = Path(source_dir).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"source folder not found: {source_dir}")
    documents = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        doc_id = relative.as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        try:
            documents.append(SourceDocument(doc_id=doc_id, path=str(path), content_hash=file_sha256(path), size_bytes=path.stat().st_size))
        except OSError as error:  # unreadable or gone since listing: fails this document only
            documents.append(SourceDocument(doc_id=doc_id, path=str(path), content_hash="", size_bytes=0, read_error=f"unreadable: {error.strerror or error}"))
    return documents
