"""Per-format readers behind ``extract``: unstructured partitioners, PDF text layers, tables, JSON.

Each reader returns unstructured elements (``Title``, ``NarrativeText``, ``Table``...) so that
``extract.to_elements`` keeps one way of building section paths for every format.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from unstructured.documents.elements import Element as RawElement
from unstructured.documents.elements import ElementMetadata, Text, Title

MAX_JSON_DEPTH = 64


def _email(path: Path) -> list[RawElement]:
    """An e-mail (.eml or .msg): the subject becomes the top title, the body's titles sit under it."""
    if path.suffix.lower() == ".msg":
        from unstructured.partition.msg import partition_msg as partition
    else:
        from unstructured.partition.email import partition_email as partition
    try:
        body = partition(file=io.BytesIO(path.read_bytes()), process_attachments=False, languages=["eng"])
    except (OSError, KeyError) as error:  # olefile's errors are OSErrors; a missing MSG property stream is a KeyError
        raise ValueError(f"corrupt or unreadable {path.suffix.lower()[1:].upper()} file: {type(error).__name__}: {error}") from error
    subject = next((e.metadata.subject for e in body if getattr(e.metadata, "subject", None)), None)
    if not subject:
        return body
    for element in body:
        if element.category == "Title":
            element.metadata.category_depth = (element.metadata.category_depth or 0) + 1
    return [Title(subject, metadata=ElementMetadata(category_depth=0)), *body]


def _spreadsheet(path: Path) -> list[RawElement]:
    """An .xlsx workbook: one ``Table`` per sheet (or sub-table), under a title naming the sheet."""
    from unstructured.partition.xlsx import partition_xlsx

    elements: list[RawElement] = []
    sheet = None
    for element in partition_xlsx(file=io.BytesIO(path.read_bytes()), find_subtable=False, languages=["eng"]):
        name = element.metadata.page_name
        if name and name != sheet:
            sheet = name
            elements.append(Title(name, metadata=ElementMetadata(category_depth=0, page_number=element.metadata.page_number)))
        elements.append(element)
    return elements


def _by_name(module: str, function: str, **kwargs: Any) -> Callable[[Path], list[RawElement]]:
    def partition(path: Path) -> list[RawElement]:
        import importlib

        partitioner = getattr(importlib.import_module(f"unstructured.partition.{module}"), function)
        return partitioner(filename=str(path), languages=["eng"], **kwargs)

    partition.__doc__ = f"unstructured's {function}."
    return partition


PARTITIONERS: dict[str, Callable[[Path], list[RawElement]]] = {
    ".docx": _by_name("docx", "partition_docx"),
    ".pptx": _by_name("pptx", "partition_pptx"),
    ".eml": _email,
    ".msg": _email,
    ".csv": _by_name("csv", "partition_csv"),
    ".tsv": _by_name("tsv", "partition_tsv"),
    ".xlsx": _spreadsheet,
    ".rst": _by_name("rst", "partition_rst"),
    ".epub": _by_name("epub", "partition_epub"),
    ".odt": _by_name("odt", "partition_odt"),
    ".rtf": _by_name("rtf", "partition_rtf"),
    ".xml": _by_name("xml", "partition_xml"),
}


def table_rows(html: str) -> list[list[str]]:
    """The cell texts of each row of an HTML table (what unstructured keeps in ``text_as_html``)."""
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    return [[" ".join(cell.text_content().split()) for cell in row.xpath("./th|./td")] for row in root.iter("tr")]


def readable_table(raw: RawElement) -> str | None:
    """A table as one line per row, ``header: value; header: value``, the first row taken as headers.

    Empty cells are left out of their row; a one-row table is its cells joined by tabs. None when the
    element carries no HTML table.
    """
    html = getattr(raw.metadata, "text_as_html", None)
    if not html:
        return None
    rows = [row for row in table_rows(html) if any(row)]
    if not rows:
        return None
    header, body = rows[0], rows[1:]
    if not body:
        return "\t".join(header)
    names = [name or f"column {number}" for number, name in enumerate(header, start=1)]
    lines = []
    for row in body:
        pairs = [f"{name}: {value}" for name, value in zip(names, row) if value]
        lines.append("; ".join(pairs + [value for value in row[len(names):] if value]))
    return "\n".join(line for line in lines if line)


def pdf_elements(path: Path) -> list[RawElement]:
    """A PDF's text layer, page by page, classified by unstructured's text partitioner.

    pdfminer.six reads each page's text boxes; ``partition_text`` turns them into titles,
    narrative text and list items, and every element keeps its page number. A text box that
    repeats on several pages (digits ignored) is a running header/footer and is emitted as
    ``Footer``, which ``to_elements`` drops, as unstructured's own PDF path does. This is what
    unstructured's "fast" strategy does, without its layout-model dependencies (torch, timm).
    """
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer
    from unstructured.partition.text import partition_text

    import re
    from collections import Counter

    from unstructured.documents.elements import Footer

    pages = []
    for page in extract_pages(str(path), laparams=LAParams()):
        boxes = [" ".join(box.get_text().split()) for box in page if isinstance(box, LTTextContainer)]
        pages.append([box for box in boxes if box])
    key = lambda box: re.sub(r"\d+", "#", box)  # noqa: E731 - "page 1 of 3" repeats as "page # of #"
    repeats = Counter(k for boxes in pages for k in {key(box) for box in boxes})
    elements: list[RawElement] = []
    for number, boxes in enumerate(pages, start=1):
        running = [box for box in boxes if repeats[key(box)] > 1]
        body = "\n\n".join(box for box in boxes if repeats[key(box)] <= 1)
        for element in [*(partition_text(text=body, languages=["eng"]) if body else []), *(Footer(box) for box in running)]:
            element.metadata.page_number = number
            elements.append(element)
    return elements


def _leaves(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(key path, scalar text) for every leaf of a JSON value; lists index as ``[i]``."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels at {path or '$'}")
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]", depth + 1)
    elif value is not None and str(value).strip():
        yield path or "$", value if isinstance(value, str) else json.dumps(value)


def _record(value: Any, prefix: str = "") -> str:
    return "\n".join(f"{path}: {text}" for path, text in _leaves(value, prefix))


def _is_element_json(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(item, dict) and "type" in item and "text" in item for item in data)


def json_elements(text: str) -> list[RawElement]:
    """Arbitrary JSON as readable ``key.path: value`` lines.

    unstructured's own element JSON (a list of ``{"type", "text", ...}``) is read back as its
    elements. Otherwise: a top-level object gives one ``Title`` per key holding an object or a
    list, with that key's leaves under it (its scalar keys are gathered into one element first);
    a top-level list gives one element per item. Paths are relative to the section.

    Raises:
        ValueError: for text that is not JSON (the reason names the position).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error}") from error
    if _is_element_json(data):
        from unstructured.staging.base import elements_from_dicts

        return list(elements_from_dicts(data))
    if isinstance(data, list):
        return [Text(_record(item)) for item in data if _record(item)]
    if not isinstance(data, dict):
        return [Text(_record(data))]
    scalars = {key: value for key, value in data.items() if not isinstance(value, (dict, list))}
    elements: list[RawElement] = [Text(_record(scalars))] if _record(scalars) else []
    for key, value in data.items():
        if isinstance(value, (dict, list)) and _record(value):
            elements.append(Title(str(key), metadata=ElementMetadata(category_depth=0)))
            items = value if isinstance(value, list) else [value]
            elements += [Text(_record(item)) for item in items if _record(item)]
    return elements
