"""Semantic chunking bounded by the embedding model's own tokens.

A chunk never crosses a section-title change and never exceeds the token bound. A section
(a run of sentences under one title path) that fits in the bound is one chunk. A longer one is
cut where neighbouring sentences are least similar: with ``packing='fewest'`` (default) into
the fewest chunks that fit, at the largest distances; with ``'greedy'`` wherever the distance
rises above a percentile of the document's distances, and before the bound. Only sentences of
sections that are cut are embedded, with the model's static word-piece vectors by default
(``breakpoint_vectors``). The planning functions are pure: numbers in, sentence groups out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from schemas.documents import Chunk, ChunkedDocument, DocumentStatus, ExtractedDocument
from schemas.params import ChunkParams

WHOLE_ELEMENT_TYPES = frozenset({"Title", "Table"})
SECTION_SEPARATOR = " > "
_SPLIT_MARGIN = 4

Encoder = Callable[[list[str]], np.ndarray]
SentenceSplitter = Callable[[list[str]], list[list[str]]]
"""Splits each of many texts into its sentences."""


@dataclass(frozen=True)
class Sentence:
    """One sentence with its place in the document and its length in model tokens."""

    text: str
    section: tuple[str, ...]
    page: int | None
    tokens: int
    is_title: bool = False


def chunk_id(doc_id: str, text: str, chunker_fingerprint: str, model_fingerprint: str) -> str:
    """Content-hash id of a chunk: sha256 of (document id, text, chunker params, model)."""
    payload = "\x1f".join((doc_id, text, chunker_fingerprint, model_fingerprint))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def effective_max_tokens(params: ChunkParams, model_max_seq_length: int) -> int:
    """The token bound actually applied: never more than the model reads ([CLS] and [SEP] excluded)."""
    return min(params.max_tokens, model_max_seq_length - 2)


def split_sentences(document: ExtractedDocument, sentence_splitter: SentenceSplitter) -> list[tuple[str, tuple[str, ...], int | None, bool]]:
    """Split each element into sentences (one splitter call per document); titles and tables stay whole."""
    prose = [element.text for element in document.elements if element.element_type not in WHOLE_ELEMENT_TYPES]
    split = iter(sentence_splitter(prose) if prose else [])
    pieces = []
    for element in document.elements:
        whole = element.element_type in WHOLE_ELEMENT_TYPES
        for text in [element.text] if whole else next(split):
            text = " ".join(text.split())
            if text:
                pieces.append((text, element.section_path, element.page_number, element.element_type == "Title"))
    return pieces


def split_long_text(text: str, tokenizer, max_tokens: int) -> list[str]:
    """Cut a text longer than ``max_tokens`` at word starts into pieces that each fit."""
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoding["offset_mapping"]
    if len(offsets) <= max_tokens:
        return [text]
    window = max(1, max_tokens - _SPLIT_MARGIN)
    pieces, start = [], 0
    while start < len(offsets):
        end = min(start + window, len(offsets))
        if end < len(offsets):
            # back off to a token that starts a word so no word is cut in two
            cut = end
            while cut > start + 1 and not (offsets[cut][0] == 0 or text[offsets[cut][0] - 1].isspace()):
                cut -= 1
            end = cut if cut > start + 1 else end
        piece = text[offsets[start][0]:offsets[end - 1][1]].strip()
        if piece:
            pieces.append(piece)
        start = end
    return pieces


def neighbour_breaks(vectors: np.ndarray, sentences: Sequence[Sentence], percentile: float) -> set[int]:
    """Indices i after which a chunk should end, from the distances between neighbours.

    Only neighbours in the same section are compared; a cut never follows a title.
    """
    if len(sentences) < 3:
        return set()
    distances = 1.0 - np.einsum("ij,ij->i", vectors[:-1], vectors[1:])
    candidates = [
        i for i in range(len(sentences) - 1)
        if sentences[i].section == sentences[i + 1].section and not sentences[i].is_title
    ]
    if len(candidates) < 2:
        return set()
    threshold = float(np.percentile(distances[candidates], percentile))
    return {i for i in candidates if distances[i] > threshold}


def plan_chunks(sentences: Sequence[Sentence], breaks: set[int], max_tokens: int, min_tokens: int, overlap: int) -> list[list[Sentence]]:
    """Group sentences into chunks.

    A chunk ends at a semantic break, at a section change, or before it would exceed
    ``max_tokens``. Chunks under ``min_tokens`` are merged into a neighbour of the same
    section when the result fits. ``overlap`` sentences of the previous chunk of the same
    section are repeated at the start of the next when they fit.
    """
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []
    size = 0
    for index, sentence in enumerate(sentences):
        if current and (_starts_new_section(current, sentence) or size + sentence.tokens > max_tokens):
            groups.append(current)
            current, size = [], 0
        current.append(sentence)
        size += sentence.tokens
        if index in breaks:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    groups = _merge_small(groups, max_tokens, min_tokens)
    return _add_overlap(groups, max_tokens, overlap) if overlap else groups


def section_runs(sentences: Sequence[Sentence]) -> list[range]:
    """Index ranges of consecutive sentences that no chunk crosses (the rule of ``_starts_new_section``)."""
    runs: list[range] = []
    start, heading_only = 0, True
    for index, sentence in enumerate(sentences):
        if index > start and sentence.section != sentences[index - 1].section:
            parent = sentences[index - 1].section
            if not (heading_only and sentence.section[:len(parent)] == parent):
                runs.append(range(start, index))
                start, heading_only = index, True
        heading_only = heading_only and sentence.is_title
    if sentences:
        runs.append(range(start, len(sentences)))
    return runs


def fewest_chunks(sentences: Sequence[Sentence], vectors: np.ndarray, max_tokens: int, min_tokens: int) -> list[list[Sentence]]:
    """Cut one section's sentences into the fewest chunks of at most ``max_tokens``.

    Among the cuttings with that many chunks it takes, in this order: the fewest chunks under
    ``min_tokens``, the fewest cuts right after a title, the largest sum of cosine distances
    between the neighbours it separates (``vectors``: one normalised row per sentence).
    """
    count = len(sentences)
    distances = 1.0 - np.einsum("ij,ij->i", vectors[:-1], vectors[1:]) if count > 1 else np.zeros(0)
    # best[end]: the cost (chunks, small chunks, cuts after a title, -distance at cuts) of sentences[:end]
    best: list[tuple | None] = [(0, 0, 0, 0.0)] + [None] * count
    start_of: list[int] = [0] * (count + 1)
    for end in range(1, count + 1):
        size = 0
        for start in range(end - 1, -1, -1):
            size += sentences[start].tokens
            if size > max_tokens and start < end - 1:
                break
            chunks, small, after_title, distance = best[start]
            if start:
                after_title += sentences[start - 1].is_title
                distance -= float(distances[start - 1])
            cost = (chunks + 1, small + (size < min_tokens), after_title, distance)
            if best[end] is None or cost < best[end]:
                best[end], start_of[end] = cost, start
    groups, end = [], count
    while end:
        groups.append(list(sentences[start_of[end]:end]))
        end = start_of[end]
    return groups[::-1]


def plan_document(sentences: Sequence[Sentence], vectors: dict[int, np.ndarray], params: ChunkParams, max_tokens: int) -> list[list[Sentence]]:
    """Group a document's sentences into chunks; ``vectors`` holds the rows of each cut run, by its start."""
    if params.packing == "greedy" and not params.whole_if_fits:  # the chunker before session 4
        whole = vectors.get(0, np.zeros((0, 1), dtype=np.float32))
        breaks = neighbour_breaks(whole, sentences, params.breakpoint_percentile) if len(whole) == len(sentences) else set()
        return plan_chunks(sentences, breaks, max_tokens, params.min_tokens, params.overlap_sentences)
    groups: list[list[Sentence]] = []
    for run in section_runs(sentences):
        members = list(sentences[run.start:run.stop])
        if run.start not in vectors:
            groups.append(members)
        elif params.packing == "fewest":
            groups.extend(fewest_chunks(members, vectors[run.start], max_tokens, params.min_tokens))
        else:
            breaks = neighbour_breaks(vectors[run.start], members, params.breakpoint_percentile)
            groups.extend(plan_chunks(members, breaks, max_tokens, params.min_tokens, 0))
    return _add_overlap(groups, max_tokens, params.overlap_sentences) if params.overlap_sentences else groups


def runs_to_cut(sentences: Sequence[Sentence], params: ChunkParams, max_tokens: int) -> list[range]:
    """The runs whose sentences need vectors: the whole document before session 4, else the runs over the bound."""
    if params.packing == "greedy" and not params.whole_if_fits:
        return [range(0, len(sentences))] if sentences else []
    return [run for run in section_runs(sentences) if len(run) > 1 and _tokens(sentences[run.start:run.stop]) > max_tokens]


def _starts_new_section(current: Sequence[Sentence], sentence: Sentence) -> bool:
    """A section change ends the chunk, except a bare heading followed by its first subsection."""
    if current[-1].section == sentence.section:
        return False
    heading_only = all(item.is_title for item in current)
    parent = current[-1].section
    return not (heading_only and sentence.section[:len(parent)] == parent)


def _tokens(group: Sequence[Sentence]) -> int:
    return sum(sentence.tokens for sentence in group)


def _merge_small(groups: list[list[Sentence]], max_tokens: int, min_tokens: int) -> list[list[Sentence]]:
    """Merge each chunk under ``min_tokens`` into the next (else the previous) chunk of its section."""
    merged: list[list[Sentence]] = []
    pending: list[Sentence] = []
    for group in groups:
        if pending and pending[0].section == group[0].section and _tokens(pending) + _tokens(group) <= max_tokens:
            group = pending + group
        elif pending:
            merged.append(pending)
        pending = []
        if _tokens(group) < min_tokens:
            pending = group
            continue
        merged.append(group)
    if pending:
        previous = merged[-1] if merged else None
        if previous and previous[0].section == pending[0].section and _tokens(previous) + _tokens(pending) <= max_tokens:
            merged[-1] = previous + pending
        else:
            merged.append(pending)
    return merged


def _add_overlap(groups: list[list[Sentence]], max_tokens: int, overlap: int) -> list[list[Sentence]]:
    """Prefix each chunk with up to ``overlap`` trailing sentences of the previous chunk in its section."""
    result = [groups[0]] if groups else []
    for previous, group in zip(groups, groups[1:]):
        prefix: list[Sentence] = []
        if previous[0].section == group[0].section:
            for sentence in reversed(previous[-overlap:]):
                if _tokens(prefix) + sentence.tokens + _tokens(group) > max_tokens:
                    break
                prefix.insert(0, sentence)
        result.append(prefix + group)
    return result


def chunk_documents(
    documents: Sequence[ExtractedDocument],
    params: ChunkParams,
    *,
    encode: Encoder,
    tokenizer,
    model_max_seq_length: int,
    model_fingerprint: str,
    sentence_splitter: SentenceSplitter,
) -> list[ChunkedDocument]:
    """Chunk a batch of extracted documents, embedding the sentences of the runs to cut in one call.

    Args:
        documents: Extracted documents; failed ones pass through with no chunks.
        params: Packing, breakpoint vectors and percentile, token bounds, overlap.
        encode: Embeds sentences into normalised vectors that place the cuts (the model, or its static vectors).
        tokenizer: The embedding model's tokenizer; all token counts use it.
        model_max_seq_length: What the model reads; bounds every chunk.
        model_fingerprint: Part of every chunk id.
        sentence_splitter: Splits element texts into sentences.

    Returns:
        One ``ChunkedDocument`` per input, in order.
    """
    max_tokens = effective_max_tokens(params, model_max_seq_length)
    per_document: list[list[Sentence]] = []
    for document in documents:
        raw = split_sentences(document, sentence_splitter) if document.status != DocumentStatus.FAILED else []
        per_document.append(_measure(raw, tokenizer, max_tokens))
    cut_runs = [runs_to_cut(sentences, params, max_tokens) for sentences in per_document]
    flat = [sentences[index].text for sentences, runs in zip(per_document, cut_runs) for run in runs for index in run]
    vectors = encode(flat) if flat else np.zeros((0, 1), dtype=np.float32)
    chunker_fingerprint = params.fingerprint()
    results, offset = [], 0
    for document, sentences, runs in zip(documents, per_document, cut_runs):
        run_vectors = {}
        for run in runs:
            run_vectors[run.start] = vectors[offset:offset + len(run)]
            offset += len(run)
        groups = plan_document(sentences, run_vectors, params, max_tokens)
        results.append(_to_chunks(document, groups, tokenizer, max_tokens, chunker_fingerprint, model_fingerprint))
    return results


def _measure(raw: list[tuple[str, tuple[str, ...], int | None, bool]], tokenizer, max_tokens: int) -> list[Sentence]:
    """Count each sentence's tokens (one tokenizer call) and split the ones that do not fit."""
    if not raw:
        return []
    counts = [len(ids) for ids in tokenizer([text for text, *_ in raw], add_special_tokens=False)["input_ids"]]
    sentences = []
    for (text, section, page, is_title), count in zip(raw, counts):
        if count <= max_tokens:
            sentences.append(Sentence(text, section, page, count, is_title))
            continue
        for piece in split_long_text(text, tokenizer, max_tokens):
            piece_count = len(tokenizer(piece, add_special_tokens=False)["input_ids"])
            sentences.append(Sentence(piece, section, page, piece_count, is_title))
    return sentences


def _to_chunks(
    document: ExtractedDocument, groups: list[list[Sentence]], tokenizer, max_tokens: int,
    chunker_fingerprint: str, model_fingerprint: str,
) -> ChunkedDocument:
    """Build the chunk records; identical texts within one document are kept once."""
    source = document.source
    texts = [" ".join(sentence.text for sentence in group) for group in groups]
    counts = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    chunks, seen, duplicates = [], set(), 0
    for group, text, count in zip(groups, texts, counts):
        pages = [sentence.page for sentence in group if sentence.page is not None]
        # joining sentences can only re-tokenise differently for exotic tokenizers: re-cut then
        pieces = [(text, count)] if count <= max_tokens else [
            (piece, len(tokenizer(piece, add_special_tokens=False)["input_ids"]))
            for piece in split_long_text(text, tokenizer, max_tokens - _SPLIT_MARGIN)
        ]
        for piece, piece_count in pieces:
            identifier = chunk_id(source.doc_id, piece, chunker_fingerprint, model_fingerprint)
            if identifier in seen:
                duplicates += 1
                continue
            seen.add(identifier)
            chunks.append(Chunk(
                chunk_id=identifier,
                doc_id=source.doc_id,
                content_hash=source.content_hash,
                chunk_index=len(chunks),
                text=piece,
                section=SECTION_SEPARATOR.join(group[0].section),
                page_start=min(pages) if pages else None,
                page_end=max(pages) if pages else None,
                token_count=piece_count,
            ))
    return ChunkedDocument(extracted=document, chunks=tuple(chunks), dropped_duplicate_chunks=duplicates)
