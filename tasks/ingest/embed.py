"""Batch embedding with sentence-transformers: normalised vectors, model identity recorded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas.corpus import ModelInfo
from schemas.params import EmbedParams
from tasks.common.models import load_embedding_model, local_files_signature, model_fingerprint


@dataclass(frozen=True)
class Embedder:
    """A loaded model plus what a manifest records about it."""

    params: EmbedParams
    info: ModelInfo

    @property
    def model(self):
        """The cached ``SentenceTransformer``."""
        return load_embedding_model(self.params.model, self.params.device)

    @property
    def tokenizer(self):
        """The model's own tokenizer."""
        return self.model.tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts into float32, L2-normalised vectors of shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.params.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(params: EmbedParams) -> Embedder:
    """Load the configured model once per process and fingerprint its weights."""
    model = load_embedding_model(params.model, params.device)
    info = ModelInfo(
        name=params.model,
        fingerprint=model_fingerprint(params.model, params.device),
        dimension=model.get_embedding_dimension(),
        max_seq_length=model.max_seq_length,
        files_signature=local_files_signature(params.model),
    )
    return Embedder(params=params, info=info)


def describe_model(params: EmbedParams, known: ModelInfo | None) -> ModelInfo:
    """The model's identity, reusing ``known`` (from the last manifest) while the local files are
    untouched, so a run with nothing to embed never loads the model."""
    if known is not None and known.name == params.model and known.files_signature is not None:
        if local_files_signature(params.model) == known.files_signature:
            return known
    return load_embedder(params).info
