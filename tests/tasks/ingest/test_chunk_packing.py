"""Fewest-chunk packing, whole sections that fit, static breakpoint vectors (session 4)."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.documents import DocumentStatus, Element, ExtractedDocument, SourceDocument
from schemas.params import ChunkParams, EmbedParams, ExtractParams
from tasks.common.models import split_sentences
from tasks.ingest.chunk import Sentence, chunk_documents, fewest_chunks, plan_document, runs_to_cut, section_runs
from tasks.ingest.embed import load_embedder, static_vectors
from tasks.ingest.plan import pipeline_fingerprint

A, B, C = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])


def sentence(text: str, tokens: int, section=("S",), title=False) -> Sentence:
    return Sentence(text=text, section=section, page=None, tokens=tokens, is_title=title)


def texts(groups) -> list[list[str]]:
    return [[s.text for s in group] for group in groups]


def test_fewest_chunks_cuts_where_the_topic_changes():
    sentences = [sentence(c, 40) for c in "abcde"]
    vectors = np.stack([A, A, B, B, C])
    # 200 tokens under a bound of 100 need 3 chunks; the two topic changes are the cuts
    assert texts(fewest_chunks(sentences, vectors, max_tokens=100, min_tokens=0)) == [["a", "b"], ["c", "d"], ["e"]]


def test_fewest_chunks_uses_no_more_chunks_than_needed():
    """Greedy percentile cutting made 1,271 chunks of 500 abstracts where 954 fit; fewest never adds a cut."""
    sentences = [sentence(c, 30) for c in "abcdef"]
    vectors = np.stack([A, B, C, A, B, C])  # every neighbour is dissimilar
    groups = fewest_chunks(sentences, vectors, max_tokens=100, min_tokens=0)
    assert len(groups) == 2 and all(sum(s.tokens for s in g) <= 100 for g in groups)


def test_fewest_chunks_avoids_small_chunks_and_cuts_after_titles():
    small_last = [sentence("a", 60), sentence("b", 35), sentence("c", 10)]
    vectors = np.stack([A, A, B])  # the largest distance is before the 10-token sentence
    assert texts(fewest_chunks(small_last, vectors, max_tokens=100, min_tokens=15)) == [["a"], ["b", "c"]]
    after_title = [sentence("T", 2, title=True), sentence("x", 60), sentence("y", 60)]
    vectors = np.stack([A, B, B])  # the title is the most distant, but a cut after it is avoided
    assert texts(fewest_chunks(after_title, vectors, max_tokens=100, min_tokens=0)) == [["T", "x"], ["y"]]


def test_section_runs_split_at_section_changes_and_keep_a_heading_with_its_subsection():
    sentences = [sentence("Billing", 1, ("Billing",), title=True), sentence("Invoices", 1, ("Billing", "Invoices"), title=True),
                 sentence("Body.", 5, ("Billing", "Invoices")), sentence("Other.", 5, ("Security",))]
    assert section_runs(sentences) == [range(0, 3), range(3, 4)]


def test_only_sections_over_the_bound_need_breakpoint_vectors():
    sentences = [sentence("a", 30, ("A",)), sentence("b", 30, ("A",)), sentence("c", 80, ("B",)), sentence("d", 80, ("B",))]
    assert runs_to_cut(sentences, ChunkParams(), max_tokens=100) == [range(2, 4)]
    assert runs_to_cut(sentences, ChunkParams(packing="greedy"), max_tokens=100) == [range(2, 4)]
    before_session_4 = ChunkParams(packing="greedy", whole_if_fits=False)
    assert runs_to_cut(sentences, before_session_4, max_tokens=100) == [range(0, 4)]
    groups = plan_document(sentences, {2: np.stack([A, B])}, ChunkParams(), max_tokens=100)
    assert texts(groups) == [["a", "b"], ["c"], ["d"]]


def test_greedy_packing_before_session_4_still_cuts_a_fitting_section():
    sentences = [sentence(c, 10) for c in "abcdef"]
    vectors = {0: np.stack([A, A, A, B, B, B])}
    old = ChunkParams(packing="greedy", whole_if_fits=False, breakpoint_percentile=80, min_tokens=0)
    assert texts(plan_document(sentences, vectors, old, max_tokens=254)) == [["a", "b", "c"], ["d", "e", "f"]]
    assert texts(plan_document(sentences, {}, ChunkParams(packing="greedy"), max_tokens=254)) == [list("abcdef")]


def test_static_vectors_average_the_rows_and_normalise():
    table = np.array([[3.0, 0.0], [0.0, 4.0], [1.0, 1.0]], dtype=np.float32)
    vectors = static_vectors([[0, 1], [2], []], table)
    assert np.allclose(vectors, [[0.6, 0.8], [2 ** -0.5, 2 ** -0.5], [0.0, 0.0]])


def test_params_that_change_the_chunks_change_the_pipeline_fingerprint():
    default = pipeline_fingerprint(ExtractParams(), ChunkParams(), "model")
    for changed in (ChunkParams(packing="greedy"), ChunkParams(whole_if_fits=False), ChunkParams(breakpoint_vectors="model")):
        assert pipeline_fingerprint(ExtractParams(), changed, "model") != default


@pytest.fixture(scope="module")
def embedder():
    return load_embedder(EmbedParams())


def document(elements: list[Element], doc_id: str = "doc.txt") -> ExtractedDocument:
    source = SourceDocument(doc_id=doc_id, path="/nowhere", content_hash="h" * 64, size_bytes=1)
    return ExtractedDocument(source=source, status=DocumentStatus.SUCCESS, elements=tuple(elements))


def chunk_recording(documents, embedder, params: ChunkParams):
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        return embedder.encode_static(texts) if params.breakpoint_vectors == "static" else embedder.encode(texts)

    results = chunk_documents(
        documents, params, encode=encode, tokenizer=embedder.tokenizer,
        model_max_seq_length=embedder.info.max_seq_length, model_fingerprint=embedder.info.fingerprint,
        sentence_splitter=split_sentences,
    )
    return results, calls


ABSTRACT = ("Statins lower cholesterol. They are prescribed to millions of patients. "
            "Breast cancer recurrence was lower among statin users. The effect on mortality remains unclear.")


def test_a_document_that_fits_is_one_chunk_and_embeds_no_sentence(embedder):
    results, calls = chunk_recording([document([Element(text=ABSTRACT, element_type="NarrativeText")])], embedder, ChunkParams())
    assert [c.text for c in results[0].chunks] == [ABSTRACT]
    assert calls == []


def test_a_long_document_is_cut_into_the_fewest_chunks_at_a_topic_change(embedder):
    cats = " ".join(f"Cats purr and nap in warm sunlight number {i}." for i in range(14))
    taxes = " ".join(f"Tax returns are filed with the revenue office by form {i}." for i in range(14))
    text = f"{cats} {taxes}"
    results, calls = chunk_recording([document([Element(text=text, element_type="NarrativeText")])], embedder, ChunkParams())
    chunks = results[0].chunks
    assert sum(c.token_count for c in chunks) > 254 and len(chunks) == 2
    assert "Tax" not in chunks[0].text and "Cats" not in chunks[1].text
    assert len(calls) == 1 and " ".join(calls[0]).split() == text.split()  # every sentence once, in one call


def test_static_vectors_rank_a_paraphrase_above_an_unrelated_sentence(embedder):
    first, paraphrase, unrelated = embedder.encode_static(
        ["Invoices are paid every month.", "Monthly invoices get paid.", "The cat sleeps on the sofa."])
    assert first @ paraphrase > first @ unrelated
    assert np.isclose(np.linalg.norm(first), 1.0)
