"""Extract text elements from documents with unstructured, one document at a time.

Every document ends as an ``ExtractedDocument`` with status success, partial or failed and
its reasons: a bad file never raises out of ``extract_document``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from schemas.documents import DocumentStatus, Element, ExtractedDocument, SourceDocument
from schemas.params import ExtractParams
from tasks.common.adapters.unstructured_spacy import prepare_unstructured
from tasks.ingest.extract_formats import PARTITIONERS, json_elements, pdf_elements, readable_table

TEXT_SUFFIXES = {
    ".txt": "text", ".text": "text", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
    ".json": "json",
}
BINARY_SUFFIXES = {".pdf"} | set(PARTITIONERS)
SNIFFED_TEXT_SUFFIXES = frozenset({".eml", ".csv", ".tsv", ".rst", ".rtf", ".xml"})
SUPPORTED_SUFFIXES = frozenset(TEXT_SUFFIXES) | BINARY_SUFFIXES
SKIPPED_CATEGORIES = frozenset({"PageBreak", "PageNumber", "Image"})
RUNNING_CATEGORIES = frozenset({"Header", "Footer"})
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


class ExtractionError(Exception):
    """A document that cannot be read; the message is the reason reported for it."""


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text document, detecting its encoding.

    A BOM wins, then BOM-less UTF-16 (many NUL bytes; other NUL bytes mean binary content), then
    strict UTF-8, then Windows-1252
    (what browsers read for "Latin-1" labels too), then ISO-8859-1, which decodes any byte.

    Returns:
        The text and the name of the encoding used.

    Raises:
        ExtractionError: when no encoding decodes the bytes.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    if data.count(b"\x00") > len(data) // 4:
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            raise ExtractionError(f"undecodable text: looks like UTF-16 but is not ({error})") from error
    if b"\x00" in data:
        raise ExtractionError("binary content: not a text file (NUL bytes outside UTF-16)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def check_pdf(path: Path) -> list[str]:
    """Open a PDF with pypdf before unstructured does; return the pages that have no text layer.

    Raises:
        ExtractionError: for an encrypted (password-protected) or unreadable PDF.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("encrypted PDF: password-protected, cannot extract text")
        empty = [str(number) for number, page in enumerate(reader.pages, start=1) if not (page.extract_text() or "").strip()]
    except ExtractionError:
        raise
    except (PyPdfError, ValueError, OSError, KeyError, TypeError) as error:
        raise ExtractionError(f"corrupt or unreadable PDF: {error}") from error
    return empty


def _partition(source: SourceDocument, params: ExtractParams) -> tuple[list, str | None, list[str]]:
    """Run the unstructured partitioner for the file's type; returns (elements, encoding, warnings)."""
    suffix = Path(source.doc_id).suffix.lower()
    path = Path(source.path)
    prepare_unstructured(params.classifier_sentences)
    if suffix in TEXT_SUFFIXES:
        text, encoding = decode_text(path.read_bytes())
        warnings = ["text contains undecodable characters (replaced)"] if "\ufffd" in text else []
        if not text.strip():
            return [], encoding, warnings
        kind = TEXT_SUFFIXES[suffix]
        if kind == "json":
            return json_elements(text), encoding, warnings
        if kind == "md":
            from unstructured.partition.md import partition_md as partition
        elif kind == "html":
            from unstructured.partition.html import partition_html as partition
        else:
            from unstructured.partition.text import partition_text as partition
        return partition(text=text, languages=["eng"]), encoding, warnings
    if suffix == ".pdf":
        empty_pages = check_pdf(path)
        if params.pdf_strategy == "fast":
            elements = pdf_elements(path)
        else:  # layout models and OCR need the optional extra: pip install '.[pdf-ocr]'
            from unstructured.partition.pdf import partition_pdf

            elements = partition_pdf(filename=str(path), strategy=params.pdf_strategy, languages=["eng"])
        warnings = [f"pages without a text layer (no OCR in '{params.pdf_strategy}'): {', '.join(empty_pages)}"] if empty_pages else []
        return elements, None, warnings
    if suffix in PARTITIONERS:
        if suffix in SNIFFED_TEXT_SUFFIXES:
            decode_text(path.read_bytes())  # binary junk under a text type fails here, with a reason
        return PARTITIONERS[suffix](path), None, []
    raise ExtractionError(f"unsupported type: {suffix or 'no extension'}")


def to_elements(raw_elements: Iterable) -> list[Element]:
    """Convert unstructured elements to ours, tracking the section-title path.

    Page numbers, page breaks and running headers or footers (the same text on several pages)
    carry no content and are dropped; a header that occurs once is kept as text.
    """
    raw_elements = list(raw_elements)
    running = Counter((raw.text or "").strip() for raw in raw_elements if getattr(raw, "category", "") in RUNNING_CATEGORIES)
    elements: list[Element] = []
    titles: list[str] = []
    for raw in raw_elements:
        text = (raw.text or "").strip()
        category = getattr(raw, "category", type(raw).__name__)
        if not text or category in SKIPPED_CATEGORIES or (category in RUNNING_CATEGORIES and running[text] > 1):
            continue
        if category == "Title":
            depth = raw.metadata.category_depth or 0
            titles = titles[:depth] + [text]
        if category == "Table":
            text = readable_table(raw) or text
        elements.append(Element(
            text=text,
            element_type=category,
            page_number=raw.metadata.page_number,
            section_path=tuple(titles),
        ))
    return elements


def extract_document(source: SourceDocument, params: ExtractParams) -> ExtractedDocument:
    """Extract one document; never raises for a bad file.

    Args:
        source: The file to read.
        params: Size limit and PDF strategy.

    Returns:
        Success with elements, partial (elements plus warnings such as pages without text),
        or failed with the reason: "too large", "unsupported type", "no text extracted",
        "encrypted PDF", "corrupt or unreadable ..." or the parser's own error.
    """
    suffix = Path(source.doc_id).suffix.lower()
    limit = int(params.max_file_mb * 1024 * 1024)

    def failed(reason: str, encoding: str | None = None) -> ExtractedDocument:
        return ExtractedDocument(source=source, status=DocumentStatus.FAILED, errors=(reason,), encoding=encoding)

    if source.read_error:
        return failed(source.read_error)
    if suffix not in SUPPORTED_SUFFIXES:
        return failed(f"unsupported type: {suffix or 'no extension'}")
    if source.size_bytes > limit:
        return failed(f"too large: {source.size_bytes / 1048576:.1f} MB exceeds the {params.max_file_mb:g} MB limit")
    if source.size_bytes == 0:
        return failed("no text extracted: empty file")
    encoding = None
    try:
        raw, encoding, warnings = _partition(source, params)
    except ExtractionError as error:
        return failed(str(error), encoding)
    except Exception as error:  # noqa: BLE001 - third-party parsers raise anything; the reason is recorded
        return failed(f"extraction error ({type(error).__name__}): {error}"[:500], encoding)
    elements = to_elements(raw)
    if not elements:
        return failed("no text extracted", encoding)
    status = DocumentStatus.PARTIAL if warnings else DocumentStatus.SUCCESS
    return ExtractedDocument(source=source, status=status, elements=tuple(elements), errors=tuple(warnings), encoding=encoding)


def extract_documents(
    sources: Iterable[SourceDocument], params: ExtractParams, on_done: Callable[[ExtractedDocument], None] | None = None
) -> list[ExtractedDocument]:
    """Extract many documents in order, calling ``on_done`` after each (for progress)."""
    results = []
    for source in sources:
        result = extract_document(source, params)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results
