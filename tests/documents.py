"""Builders for test documents in every supported format, generated at test time."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

TOPICS = {
    "billing": (
        "Billing",
        [("Invoices", "Invoices are issued on the first day of every month. Each invoice lists every seat that was active "
                      "in the previous month. Finance teams download invoices as PDF from the billing page."),
         ("Refunds", "Refunds are processed within ten business days. Annual plans can be refunded pro rata. "
                     "Support needs the invoice number to start a refund.")],
    ),
    "security": (
        "Security",
        [("Single sign-on", "Single sign-on uses SAML 2.0 with any compliant identity provider. Administrators paste the "
                            "metadata URL into the admin console. Sessions expire after twelve hours."),
         ("Passwords", "Passwords need at least fourteen characters. Accounts lock after five failed attempts. "
                       "A locked account unlocks itself after thirty minutes.")],
    ),
    "limits": (
        "Rate limits",
        [("Quotas", "The public API accepts one hundred requests per minute for each token. Bulk endpoints count "
                    "as ten requests. Quotas reset at the start of every minute."),
         ("Errors", "A client over its quota receives status 429. The Retry-After header says how many seconds to wait. "
                    "Repeated violations suspend the token for an hour.")],
    ),
}


def markdown(topic: str) -> str:
    """A markdown document with a title and two sections."""
    title, sections = TOPICS[topic]
    parts = [f"# {title}", ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body, ""]
    return "\n".join(parts)


def plain_text(topic: str) -> str:
    """The same content as plain paragraphs."""
    title, sections = TOPICS[topic]
    return "\n\n".join([title] + [f"{heading}\n\n{body}" for heading, body in sections]) + "\n"


def html(topic: str) -> str:
    """An HTML page with h1/h2 headings."""
    title, sections = TOPICS[topic]
    body = "".join(f"<h2>{heading}</h2><p>{text}</p>" for heading, text in sections)
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


def pdf_bytes(pages: list[str], password: str | None = None) -> bytes:
    """A text PDF with one page per entry (an empty entry gives a page with no text layer)."""
    from fpdf import FPDF

    document = FPDF()
    document.set_creation_date(datetime(2026, 1, 1, tzinfo=timezone.utc))
    document.set_font("helvetica", size=11)
    for text in pages:
        document.add_page()
        if text:
            document.multi_cell(0, 6, text)
    data = bytes(document.output())
    if password is None:
        return data
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(topic: str) -> bytes:
    """A Word document with Heading 1/2 styles."""
    from docx import Document

    title, sections = TOPICS[topic]
    document = Document()
    document.add_heading(title, level=1)
    for heading, body in sections:
        document.add_heading(heading, level=2)
        document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_bytes(topic: str) -> bytes:
    """A PowerPoint deck: one slide per section."""
    from pptx import Presentation

    title, sections = TOPICS[topic]
    deck = Presentation()
    for heading, body in sections:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"{title}: {heading}"
        slide.placeholders[1].text = body
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def write_mixed_corpus(root: Path) -> dict[str, str]:
    """Write one good document per format plus every kind of bad file; returns doc_id -> expected outcome."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "guides").mkdir(exist_ok=True)
    files: dict[str, bytes] = {
        "billing.md": markdown("billing").encode(),
        "guides/limits.txt": plain_text("limits").encode(),
        "security.html": html("security").encode(),
        "report.pdf": pdf_bytes([plain_text("billing"), plain_text("limits")]),
        "security.docx": docx_bytes("security"),
        "deck.pptx": pptx_bytes("limits"),
        "utf16.txt": plain_text("security").encode("utf-16"),
        "legacy.txt": "Caf\u00e9 men\u00fc: na\u00efve \u201csmart\u201d quotes \u2013 cp1252 text about espresso machines.\n".encode("cp1252"),
        "empty.txt": b"",
        "blank.md": b"   \n\n\t\n",
        "locked.pdf": pdf_bytes(["Secret quarterly numbers that nobody may read."], password="hunter2"),
        "junk.pdf": bytes(range(256)) * 8,
        "image.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    }
    for doc_id, data in files.items():
        (root / doc_id).write_bytes(data)
    return {
        "billing.md": "success", "guides/limits.txt": "success", "security.html": "success", "report.pdf": "success",
        "security.docx": "success", "deck.pptx": "success", "utf16.txt": "success", "legacy.txt": "success",
        "empty.txt": "no text extracted", "blank.md": "no text extracted", "locked.pdf": "encrypted",
        "junk.pdf": "corrupt", "image.png": "unsupported type",
    }


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (sub-folders included), by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
