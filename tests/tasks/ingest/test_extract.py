"""Extraction with real unstructured over generated files of every supported format."""

from __future__ import annotations


import pytest

from schemas.documents import DocumentStatus
from schemas.params import ExtractParams
from tasks.ingest.discover import discover_documents
from tasks.ingest.extract import decode_text, extract_document
from tests.documents import pdf_bytes, write_format_corpus, write_mixed_corpus


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    expected = write_mixed_corpus(root)
    results = {source.doc_id: extract_document(source, ExtractParams()) for source in discover_documents(root)}
    return expected, results


def test_every_file_gets_the_expected_outcome(extracted):
    expected, results = extracted
    assert set(results) == set(expected)
    for doc_id, outcome in expected.items():
        result = results[doc_id]
        if outcome == "success":
            assert result.status == DocumentStatus.SUCCESS, (doc_id, result.errors)
            assert result.elements
        else:
            assert result.status == DocumentStatus.FAILED, doc_id
            assert outcome in result.errors[0], (doc_id, result.errors)
            assert not result.elements


def test_section_path_and_element_types_are_kept(extracted):
    _, results = extracted
    for doc_id in ("billing.md", "security.html", "security.docx"):
        elements = results[doc_id].elements
        assert elements[0].element_type == "Title"
        narrative = [e for e in elements if e.element_type == "NarrativeText"]
        assert narrative, doc_id
        assert all(len(e.section_path) == 2 for e in narrative), [e.section_path for e in narrative]
    refunds = next(e for e in results["billing.md"].elements if "ten business days" in e.text)
    assert refunds.section_path == ("Billing", "Refunds")


def test_senter_classification_extracts_what_the_parser_does(extracted, tmp_path):
    """The faster sentence setting (session 4) keeps every element, type and section path of the mixed corpus."""
    _, results = extracted
    sources = discover_documents(write_mixed_corpus(tmp_path) and tmp_path)
    parser = {s.doc_id: extract_document(s, ExtractParams(classifier_sentences="parser")) for s in sources}
    for doc_id, result in parser.items():
        assert result.elements == results[doc_id].elements, doc_id
    assert ExtractParams(classifier_sentences="parser").fingerprint() != ExtractParams().fingerprint()


def test_page_numbers_are_kept_for_pdf_and_pptx(extracted):
    _, results = extracted
    assert {e.page_number for e in results["report.pdf"].elements} == {1, 2}
    assert {e.page_number for e in results["deck.pptx"].elements} == {1, 2}


def test_encodings_are_detected(extracted):
    _, results = extracted
    assert results["utf16.txt"].encoding == "utf-16"
    assert any("Single sign-on" in e.text for e in results["utf16.txt"].elements)
    legacy = " ".join(e.text for e in results["legacy.txt"].elements)
    assert results["legacy.txt"].encoding == "cp1252"
    assert "Café menü: naïve “smart” quotes – cp1252" in legacy


@pytest.mark.parametrize(("data", "encoding", "text"), [
    ("naïve".encode("utf-8"), "utf-8", "naïve"),
    ("naïve".encode("utf-8-sig"), "utf-8-sig", "naïve"),
    ("naïve".encode("utf-16-le"), "utf-16-le", "naïve"),
    ("naïve".encode("utf-16"), "utf-16", "naïve"),
    ("Hello".encode("utf-16-le"), "utf-16-le", "Hello"),  # BOM-less ASCII UTF-16 is also valid UTF-8
    ("“naïve”".encode("cp1252"), "cp1252", "“naïve”"),
    (b"caf\xe9 \x81", "latin-1", "café \x81"),
])
def test_decode_text(data, encoding, text):
    assert decode_text(data) == (text, encoding)


def test_binary_bytes_in_a_text_file_fail_with_a_reason(tmp_path):
    (tmp_path / "notes.txt").write_bytes(bytes(range(256)) * 4)
    result = extract_document(discover_documents(tmp_path)[0], ExtractParams())
    assert result.status == DocumentStatus.FAILED and result.errors[0].startswith("binary content")


def test_size_limit_fails_with_too_large(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 50_000)
    source = discover_documents(tmp_path)[0]
    result = extract_document(source, ExtractParams(max_file_mb=0.1))
    assert result.status == DocumentStatus.FAILED
    assert result.errors[0].startswith("too large")


def test_pdf_page_without_text_layer_is_partial(tmp_path):
    (tmp_path / "scan.pdf").write_bytes(pdf_bytes(["A page with a text layer about invoices.", ""]))
    result = extract_document(discover_documents(tmp_path)[0], ExtractParams())
    assert result.status == DocumentStatus.PARTIAL
    assert "pages without a text layer" in result.errors[0] and "2" in result.errors[0]
    assert result.elements


def test_document_ids_are_relative_posix_paths_and_hidden_files_skipped(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "doc.md").write_text("# T\n\nText.")
    (tmp_path / ".hidden.md").write_text("# hidden")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    assert [d.doc_id for d in discover_documents(tmp_path)] == ["a/b/doc.md"]


def test_missing_source_folder_is_a_clear_error(tmp_path):
    with pytest.raises(NotADirectoryError, match="source folder not found"):
        discover_documents(tmp_path / "nope")


def test_a_file_name_that_is_not_utf8_gets_an_escaped_id_and_is_indexed(tmp_path):
    """Regression: a non-UTF-8 file name crashed chunk ids and the manifest with UnicodeEncodeError."""
    import os

    os.makedirs(tmp_path, exist_ok=True)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"Espresso machines need descaling every month.")
    source = discover_documents(tmp_path)[0]
    assert source.doc_id == "caf\\xe9.txt"
    source.doc_id.encode("utf-8")
    assert extract_document(source, ExtractParams()).status == DocumentStatus.SUCCESS


@pytest.fixture(scope="module")
def formats(tmp_path_factory):
    from tasks.ingest.extract import extract_documents

    root = tmp_path_factory.mktemp("formats")
    write_format_corpus(root)
    return {result.source.doc_id: result for result in extract_documents(discover_documents(root), ExtractParams())}


def test_each_new_format_extracts_and_its_corrupt_twin_fails_alone_with_a_reason(formats):
    good = [doc_id for doc_id in formats if not doc_id.startswith("corrupt/")]
    assert len(good) == 11 and len(formats) == 22
    for doc_id in good:
        assert formats[doc_id].status == DocumentStatus.SUCCESS, (doc_id, formats[doc_id].errors)
        assert formats[doc_id].elements, doc_id
    for doc_id, result in formats.items():
        if doc_id.startswith("corrupt/"):
            assert result.status == DocumentStatus.FAILED, (doc_id, result.elements)
            assert result.errors and result.errors[0].strip(), doc_id
            assert not result.elements


@pytest.mark.parametrize("doc_id", ["mail.eml", "mail.msg", "security.rst", "limits.epub", "billing.odt"])
def test_new_formats_keep_titles_and_section_paths(formats, doc_id):
    elements = formats[doc_id].elements
    assert elements[0].element_type == "Title"
    narrative = [e for e in elements if e.element_type == "NarrativeText"]
    assert narrative and all(len(e.section_path) == 2 for e in narrative), [e.section_path for e in elements]


@pytest.mark.parametrize("doc_id", ["mail.eml", "mail.msg"])
def test_email_subject_heads_the_section_path(formats, doc_id):
    elements = formats[doc_id].elements
    assert (elements[0].element_type, elements[0].text, elements[0].section_path) == ("Title", "Billing", ("Billing",))
    refunds = next(e for e in elements if "ten business days" in e.text)
    assert refunds.element_type == "NarrativeText" and refunds.section_path == ("Billing", "Refunds")


def test_outlook_msg_gives_the_same_elements_as_the_same_eml(formats):
    def view(doc_id):
        return [(e.element_type, e.section_path, e.text) for e in formats[doc_id].elements]

    assert view("mail.msg") == view("mail.eml")


def test_generated_msg_is_a_compound_file_that_olefile_reads_without_defects():
    import olefile

    from tests.documents import msg_bytes

    with olefile.OleFileIO(msg_bytes("billing"), raise_defects=olefile.DEFECT_INCORRECT) as ole:
        assert ole.openstream("__substg1.0_0037001F").read().decode("utf-16-le") == "Billing"
        assert ole.openstream("__substg1.0_001A001F").read().decode("utf-16-le") == "IPM.Note"
        assert ole.exists("__recip_version1.0_#00000000/__substg1.0_39FE001F")
        assert not ole.parsing_issues


@pytest.mark.parametrize("cut", [100, 512, 1024, 1536])
def test_a_truncated_msg_fails_alone_with_a_reason(tmp_path, cut):
    from tasks.ingest.extract import extract_documents
    from tests.documents import eml_bytes, msg_bytes

    (tmp_path / "whole.msg").write_bytes(msg_bytes("billing"))
    (tmp_path / "mail.eml").write_bytes(eml_bytes("security"))
    (tmp_path / "cut.msg").write_bytes(msg_bytes("limits")[:cut])
    results = {r.source.doc_id: r for r in extract_documents(discover_documents(tmp_path), ExtractParams())}
    assert results["whole.msg"].status == results["mail.eml"].status == DocumentStatus.SUCCESS
    cut_result = results["cut.msg"]
    assert cut_result.status == DocumentStatus.FAILED and not cut_result.elements
    assert "OLE" in cut_result.errors[0] or "corrupt or unreadable MSG" in cut_result.errors[0], cut_result.errors


def test_xml_and_rtf_keep_their_text(formats):
    xml_refunds = next(e for e in formats["billing.xml"].elements if "ten business days" in e.text)
    assert xml_refunds.element_type == "NarrativeText" and xml_refunds.section_path[-1] == "Refunds"
    assert any("fourteen characters" in e.text for e in formats["security.rtf"].elements)


@pytest.mark.parametrize("doc_id", ["prices.csv", "prices.tsv", "prices.xlsx"])
def test_tables_keep_rows_readable_as_header_value_pairs(formats, doc_id):
    table = next(e for e in formats[doc_id].elements if e.element_type == "Table")
    lines = table.text.splitlines()
    assert lines[0] == "plan: Starter; seats: 5; price per seat: 12 EUR; support: e-mail"
    assert lines[2] == "plan: Enterprise; seats: 500; price per seat: 8 EUR; support: phone, chat and e-mail"
    assert "<t" not in table.text


def test_xlsx_sheets_become_sections_and_pages(formats):
    tables = [e for e in formats["prices.xlsx"].elements if e.element_type == "Table"]
    assert [(t.section_path, t.page_number) for t in tables] == [(("Prices",), 1), (("Limits",), 2)]
    assert tables[1].text.splitlines() == ["endpoint: search; requests per minute: 100", "endpoint: bulk import; requests per minute: 10"]


def test_arbitrary_json_is_flattened_to_key_paths(formats):
    elements = formats["billing.json"].elements
    assert elements[0].text == "title: Billing\npublished: true" and elements[0].section_path == ()
    refunds = next(e for e in elements if "ten business days" in e.text)
    assert refunds.section_path == ("sections",) and refunds.text.startswith("heading: Refunds\nbody: Refunds are")
    assert any(e.text == "plan: Team\nseats: 50" and e.section_path == ("plans",) for e in elements)


def test_unstructured_element_json_is_read_back_as_elements(tmp_path):
    import json

    data = [{"type": "Title", "element_id": "a", "text": "Refunds", "metadata": {}},
            {"type": "NarrativeText", "element_id": "b", "text": "Refunds take ten business days.", "metadata": {}}]
    (tmp_path / "elements.json").write_text(json.dumps(data))
    result = extract_document(discover_documents(tmp_path)[0], ExtractParams())
    assert [(e.element_type, e.section_path) for e in result.elements] == [("Title", ("Refunds",)), ("NarrativeText", ("Refunds",))]


def test_invalid_json_fails_with_its_position(tmp_path):
    (tmp_path / "broken.json").write_text('{"title": "Billing",')
    result = extract_document(discover_documents(tmp_path)[0], ExtractParams())
    assert result.status == DocumentStatus.FAILED and "invalid JSON" in result.errors[0] and "line 1" in result.errors[0]
