"""Semantic chunking: pure grouping rules on literal data, then the real model and tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.documents import DocumentStatus, Element, ExtractedDocument, SourceDocument
from schemas.params import ChunkParams, EmbedParams
from tasks.ingest.chunk import Sentence, chunk_documents, neighbour_breaks, plan_chunks
from tasks.ingest.embed import load_embedder
from tasks.common.models import split_sentences


def sentence(text: str, tokens: int, section=("S",), title=False) -> Sentence:
    return Sentence(text=text, section=section, page=None, tokens=tokens, is_title=title)


def test_breaks_fall_where_neighbours_are_least_similar():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    vectors = np.stack([a, a, a, b, b, b])
    sentences = [sentence(str(i), 5) for i in range(6)]
    assert neighbour_breaks(vectors, sentences, percentile=80) == {2}


def test_no_break_is_placed_after_a_title_or_across_sections():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    vectors = np.stack([a, b, b, a, a])
    sentences = [sentence("T", 1, title=True), sentence("x", 5), sentence("y", 5),
                 sentence("z", 5, section=("Other",)), sentence("w", 5, section=("Other",))]
    assert neighbour_breaks(vectors, sentences, percentile=0) <= {1, 3}
    assert 0 not in neighbour_breaks(vectors, sentences, percentile=0)
    assert 2 not in neighbour_breaks(vectors, sentences, percentile=0)


def test_chunks_never_exceed_the_token_bound_and_never_cross_sections():
    sentences = [sentence(f"s{i}", 40, section=("A",) if i < 7 else ("B",)) for i in range(12)]
    groups = plan_chunks(sentences, breaks=set(), max_tokens=100, min_tokens=0, overlap=0)
    assert all(sum(s.tokens for s in g) <= 100 for g in groups)
    assert all(len({s.section for s in g}) == 1 for g in groups)
    assert [s.text for g in groups for s in g] == [s.text for s in sentences]


def test_small_chunks_merge_into_a_neighbour_of_the_same_section():
    sentences = [sentence("a", 50), sentence("b", 5), sentence("c", 50)]
    groups = plan_chunks(sentences, breaks={0, 1}, max_tokens=100, min_tokens=10, overlap=0)
    assert [[s.text for s in g] for g in groups] == [["a"], ["b", "c"]]


def test_a_heading_joins_the_first_chunk_of_its_subsection():
    sentences = [sentence("Billing", 2, section=("Billing",), title=True), sentence("Invoices", 2, section=("Billing", "Invoices"), title=True),
                 sentence("Body.", 20, section=("Billing", "Invoices"))]
    groups = plan_chunks(sentences, breaks=set(), max_tokens=100, min_tokens=0, overlap=0)
    assert [[s.text for s in g] for g in groups] == [["Billing", "Invoices", "Body."]]


def test_overlap_repeats_trailing_sentences_within_the_bound():
    sentences = [sentence(c, 10) for c in "abcd"]
    groups = plan_chunks(sentences, breaks={1}, max_tokens=30, min_tokens=0, overlap=1)
    assert [[s.text for s in g] for g in groups] == [["a", "b"], ["b", "c", "d"]]


@pytest.fixture(scope="module")
def embedder():
    return load_embedder(EmbedParams())


def chunk(document: ExtractedDocument, embedder, params: ChunkParams = ChunkParams()):
    return chunk_documents(
        [document], params, encode=embedder.encode, tokenizer=embedder.tokenizer,
        model_max_seq_length=embedder.info.max_seq_length, model_fingerprint=embedder.info.fingerprint,
        sentence_splitter=split_sentences,
    )[0]


def document(elements: list[Element], doc_id: str = "doc.md") -> ExtractedDocument:
    source = SourceDocument(doc_id=doc_id, path="/nowhere", content_hash="h" * 64, size_bytes=1)
    return ExtractedDocument(source=source, status=DocumentStatus.SUCCESS, elements=tuple(elements))


def test_no_chunk_exceeds_what_the_model_reads(embedder):
    giant = " ".join(f"token{i} alpha beta gamma" for i in range(400))  # one 'sentence' of ~2,000 tokens
    prose = " ".join(f"Sentence number {i} talks about invoices and refunds." for i in range(60))
    result = chunk(document([Element(text=giant, element_type="NarrativeText"), Element(text=prose, element_type="NarrativeText")]), embedder)
    limit = embedder.info.max_seq_length - 2
    assert len(result.chunks) > 8
    for item in result.chunks:
        assert item.token_count <= limit
        assert len(embedder.tokenizer(item.text, add_special_tokens=False)["input_ids"]) <= limit
    assert "token0" in result.chunks[0].text and "token399" in " ".join(c.text for c in result.chunks)


def test_chunking_is_deterministic_and_ids_depend_on_params(embedder):
    elements = [Element(text=t, element_type="NarrativeText", section_path=("A",)) for t in
                ("Cats purr when content. Dogs bark at strangers.", "The API returns 429 when over quota. Retry later.")]
    first, second = chunk(document(elements), embedder), chunk(document(elements), embedder)
    assert [c.chunk_id for c in first.chunks] == [c.chunk_id for c in second.chunks]
    other = chunk(document(elements), embedder, ChunkParams(min_tokens=0, breakpoint_percentile=50))
    assert {c.chunk_id for c in other.chunks}.isdisjoint({c.chunk_id for c in first.chunks})


def test_sections_are_never_merged(embedder):
    elements = [
        Element(text="Billing", element_type="Title", section_path=("Billing",)),
        Element(text="Invoices go out monthly.", element_type="NarrativeText", section_path=("Billing",)),
        Element(text="Security", element_type="Title", section_path=("Security",)),
        Element(text="Use SAML for single sign-on.", element_type="NarrativeText", section_path=("Security",)),
    ]
    result = chunk(document(elements), embedder)
    assert [c.section for c in result.chunks] == ["Billing", "Security"]
    assert "SAML" not in result.chunks[0].text


def test_repeated_text_in_one_document_is_kept_once(embedder):
    elements = [Element(text="Same boilerplate paragraph here.", element_type="NarrativeText", section_path=(s,)) for s in ("A", "B")]
    result = chunk(document(elements), embedder, ChunkParams(min_tokens=0))
    assert len(result.chunks) == 1
    assert result.dropped_duplicate_chunks == 1


def test_sentence_splitting_accepts_text_beyond_spacys_max_length():
    """Regression: one element over 1,000,000 characters made spaCy raise E088 and crashed the run."""
    text = "Invoices are sent monthly. " * 45_000  # about 1.2 million characters
    sentences = split_sentences([text, "Short one. Two."])
    assert " ".join(sentences[0]).split() == text.split()
    assert sentences[1] == ["Short one.", "Two."]


def test_a_document_that_cannot_be_chunked_fails_alone(embedder):
    """A chunking error in one document of a batch fails that document only, with the error as reason."""
    from schemas.params import EmbedParams
    from tasks.ingest.prefect_tasks import chunk_batch

    good = document([Element(text="Invoices are sent monthly. Refunds take ten days.", element_type="NarrativeText")], "good.md")
    bad = document([Element(text="x", element_type="NarrativeText")], "bad.md")
    bad = bad.model_copy(update={"elements": ("not an element",)})  # breaks the chunker, as a parser bug would
    results = chunk_batch([good, bad], ChunkParams(), EmbedParams())
    assert [r.extracted.source.doc_id for r in results] == ["good.md", "bad.md"]
    assert results[0].chunks and results[1].extracted.status == DocumentStatus.FAILED
    assert results[1].extracted.errors[0].startswith("chunking error (AttributeError)")
