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


def write_numbered_docs(root: Path, count: int, edition: int) -> None:
    """``count`` markdown documents ``docNNN.md``; each ``edition`` changes every one of them."""
    root.mkdir(parents=True, exist_ok=True)
    topics = list(TOPICS)
    for number in range(count):
        text = markdown(topics[number % len(topics)]) + f"\n## Edition\n\nDocument {number} edition {edition} ships with note {number * 7 + edition}.\n"
        (root / f"doc{number:03d}.md").write_text(text)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (sub-folders included), by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _sections(topic: str) -> tuple[str, list[tuple[str, str]]]:
    return TOPICS[topic]


def eml_bytes(topic: str) -> bytes:
    """An RFC 822 e-mail with a plain-text body holding the topic's sections."""
    from email.message import EmailMessage

    title, sections = _sections(topic)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = "Support Desk <support@example.com>"
    message["To"] = "customer@example.org"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    message.set_content(_mail_body(sections))
    return bytes(message)


def _mail_body(sections: list[tuple[str, str]]) -> str:
    return "\n\n".join(f"{heading}\n\n{body}" for heading, body in sections) + "\n"


_PTYP_INTEGER32, _PTYP_TIME, _PTYP_STRING = 0x0003, 0x0040, 0x001F
_PROPERTY_READABLE_WRITABLE = 0x2 | 0x4
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


def _msg_storage(header: bytes, properties: dict[int, int | str | datetime]) -> dict[str, bytes]:
    """One MS-OXMSG property storage: ``__properties_version1.0`` (header, then 16 bytes a property) and a stream per string."""
    import struct

    table, strings = header, {}
    for pid, value in sorted(properties.items()):
        if isinstance(value, str):
            tag, data = pid << 16 | _PTYP_STRING, value.encode("utf-16-le")
            strings[f"__substg1.0_{tag:08X}"] = data
            payload = struct.pack("<II", len(data) + 2, 0)  # a string's size counts its (unstored) terminating NUL
        elif isinstance(value, datetime):
            tag, payload = pid << 16 | _PTYP_TIME, struct.pack("<Q", int((value - _FILETIME_EPOCH).total_seconds()) * 10_000_000)
        else:
            tag, payload = pid << 16 | _PTYP_INTEGER32, struct.pack("<I4x", value)
        table += struct.pack("<II", tag, _PROPERTY_READABLE_WRITABLE) + payload
    return {"__properties_version1.0": table, **strings}


def msg_bytes(topic: str) -> bytes:
    """An Outlook .msg (MS-OXMSG in a compound file) with the same subject, sender and body as ``eml_bytes``."""
    import struct

    from tests.cfb import compound_file

    title, sections = _sections(topic)
    customer = "customer@example.org"
    recipient = _msg_storage(bytes(8), {0x0C15: 1, 0x3001: customer, 0x3002: "SMTP", 0x3003: customer, 0x39FE: customer})
    message = _msg_storage(struct.pack("<8x4I8x", 1, 0, 1, 0), {  # next recipient id, next attachment id, counts
        0x001A: "IPM.Note",  # message class
        0x0037: title,  # subject
        0x0039: datetime(2026, 12, 1, 10, tzinfo=timezone.utc),  # client submit time
        0x0C1A: "Support Desk",  # sender name
        0x0C1F: "support@example.com",  # sender e-mail address
        0x1000: _mail_body(sections),  # plain-text body
        0x340D: 0x00040000,  # store support mask: STORE_UNICODE_OK
    })
    named_properties = {f"__substg1.0_{kind:04X}0102": b"" for kind in (2, 3, 4)}  # GUID, entry and string streams, empty
    return compound_file({**message, "__recip_version1.0_#00000000": recipient, "__nameid_version1.0": named_properties})


TABLE_ROWS = [
    ("plan", "seats", "price per seat", "support"),
    ("Starter", "5", "12 EUR", "e-mail"),
    ("Team", "50", "10 EUR", "chat and e-mail"),
    ("Enterprise", "500", "8 EUR", "phone, chat and e-mail"),
]


def delimited_bytes(delimiter: str = ",", rows: list[tuple[str, ...]] = TABLE_ROWS) -> bytes:
    """A CSV (or TSV with ``delimiter="\\t"``) table with a header row."""
    import csv

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes() -> bytes:
    """A workbook with two sheets: the price table and a short limits table."""
    from openpyxl import Workbook

    workbook = Workbook()
    prices = workbook.active
    prices.title = "Prices"
    for row in TABLE_ROWS:
        prices.append(list(row))
    limits = workbook.create_sheet("Limits")
    for row in [("endpoint", "requests per minute"), ("search", "100"), ("bulk import", "10")]:
        limits.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rst(topic: str) -> str:
    """A reStructuredText document with a title and two sections."""
    title, sections = _sections(topic)
    parts = [title, "=" * len(title), ""]
    for heading, body in sections:
        parts += [heading, "-" * len(heading), "", body, ""]
    return "\n".join(parts)


def rtf(topic: str) -> str:
    """An RTF document: bold heading paragraphs and body paragraphs."""
    title, sections = _sections(topic)
    paragraphs = [rf"{{\pard\b\fs32 {title}\par}}"]
    for heading, body in sections:
        paragraphs += [rf"{{\pard\b\fs28 {heading}\par}}", rf"{{\pard {body}\par}}"]
    return r"{\rtf1\ansi\deff0{\fonttbl{\f0 Helvetica;}}" + "\n" + "\n".join(paragraphs) + "\n}"


def _xhtml(title: str, body: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{title}</title></head><body>{body}</body></html>")


def epub_bytes(topic: str) -> bytes:
    """An EPUB 3 book: one chapter per section, the title as the first heading."""
    import zipfile

    title, sections = _sections(topic)
    chapters = [
        (f"ch{number}.xhtml", _xhtml(heading, (f"<h1>{title}</h1>" if number == 1 else "") + f"<h2>{heading}</h2><p>{body}</p>"))
        for number, (heading, body) in enumerate(sections, start=1)
    ]
    manifest = "".join(f'<item id="c{n}" href="{name}" media-type="application/xhtml+xml"/>' for n, (name, _) in enumerate(chapters))
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    nav_items = "".join(f'<li><a href="{name}">{heading}</a></li>' for (name, _), (heading, _) in zip(chapters, sections))
    files = {
        "META-INF/container.xml": '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        "content.opf": '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:tributary:{topic}</dc:identifier>'
        f'<dc:title>{title}</dc:title><dc:language>en</dc:language><meta property="dcterms:modified">2026-01-01T00:00:00Z</meta></metadata>'
        f'<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{manifest}</manifest>'
        f"<spine>{spine}</spine></package>",
        "nav.xhtml": _xhtml(title, f'<nav xmlns:epub="http://www.idpf.org/2007/ops" epub:type="toc"><ol>{nav_items}</ol></nav>'),
        **dict(chapters),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", (2026, 1, 1, 0, 0, 0)), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), text, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


_ODT_STYLES = ('<?xml version="1.0" encoding="UTF-8"?><office:document-styles '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
               'office:version="1.2"><office:styles/><office:automatic-styles/><office:master-styles/></office:document-styles>')


def odt_bytes(topic: str) -> bytes:
    """An OpenDocument text file with outline-level headings."""
    import zipfile

    title, sections = _sections(topic)
    body = f'<text:h text:outline-level="1">{title}</text:h>' + "".join(
        f'<text:h text:outline-level="2">{heading}</text:h><text:p>{text}</text:p>' for heading, text in sections
    )
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", (2026, 1, 1, 0, 0, 0)), "application/vnd.oasis.opendocument.text")
        archive.writestr(zipfile.ZipInfo("content.xml", (2026, 1, 1, 0, 0, 0)), content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("styles.xml", (2026, 1, 1, 0, 0, 0)), _ODT_STYLES, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("META-INF/manifest.xml", (2026, 1, 1, 0, 0, 0)), manifest, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xml(topic: str) -> str:
    """An XML knowledge-base article: a title and sections with headings and paragraphs."""
    title, sections = _sections(topic)
    body = "".join(f"<section><heading>{heading}</heading><para>{text}</para></section>" for heading, text in sections)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<article id="{topic}"><title>{title}</title>{body}</article>\n'


def json_text(topic: str) -> str:
    """Arbitrary (not unstructured's element format) JSON: a help-centre article record."""
    import json

    title, sections = _sections(topic)
    record = {
        "title": title,
        "published": True,
        "sections": [{"heading": heading, "body": body} for heading, body in sections],
        "plans": [{"plan": row[0], "seats": int(row[1])} for row in TABLE_ROWS[1:]],
    }
    return json.dumps(record, indent=2)


def write_format_corpus(root: Path) -> dict[str, bytes]:
    """Write one generated document of every newer format and a corrupt twin of each; returns doc_id -> bytes."""
    good = {
        "mail.eml": eml_bytes("billing"),
        "mail.msg": msg_bytes("billing"),
        "prices.csv": delimited_bytes(","),
        "prices.tsv": delimited_bytes("\t"),
        "prices.xlsx": xlsx_bytes(),
        "security.rst": rst("security").encode(),
        "limits.epub": epub_bytes("limits"),
        "billing.odt": odt_bytes("billing"),
        "security.rtf": rtf("security").encode(),
        "billing.xml": xml("billing").encode(),
        "billing.json": json_text("billing").encode(),
    }
    junk = bytes(range(256)) * 8
    corrupt = {f"corrupt/{Path(name).stem}-bad{Path(name).suffix}": junk for name in good}
    files = {**good, **corrupt}
    for doc_id, data in files.items():
        (root / doc_id).parent.mkdir(parents=True, exist_ok=True)
        (root / doc_id).write_bytes(data)
    return files
