"""The embedding model on ONNX Runtime: exported locally from the installed weights, no hub.

The sentence-transformers model's transformer is exported once with ``torch.onnx.export`` to a
cache folder keyed by the torch model's fingerprint (``TRIBUTARY_CACHE_DIR``, else
``~/.cache/tributary/onnx``); ``onnx-int8`` adds a dynamically int8-quantised copy.
``onnx-fused-int8`` exports with eager attention (so ONNX Runtime's BERT optimizer can fuse
attention, embeddings + LayerNorm, bias + GELU and skip + LayerNorm), then quantises only the
MatMul weights to int8, per output channel (``BACKEND_CONFIGS`` spells the recipe; it is part of
the model fingerprint and of the cached file's name). Pooling
(mean over the attention mask) and L2 normalisation run in numpy, on length-sorted batches, so
each batch pads only to its own longest text.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

ONNX_BACKENDS = ("onnx", "onnx-int8", "onnx-fused-int8")
_OPSET = 17

# What each backend runs, beyond the weights. ``onnx-fused-int8``'s recipe is hashed into the model
# fingerprint, so a change in it re-identifies every chunk instead of mixing vectors of two recipes in
# one index; ``onnx`` and ``onnx-int8`` keep their name-only fingerprints (``models.model_fingerprint``),
# so their entries only document what they run: changing them needs a new backend name.
BACKEND_CONFIGS = {
    "onnx": f"export=torch.onnx;opset={_OPSET}",
    "onnx-int8": f"export=torch.onnx;opset={_OPSET};quant=dynamic-qint8;per_channel=0;reduce_range=0;ops=all",
    "onnx-fused-int8": f"export=torch.onnx-eager-attention;opset={_OPSET};fusion=ort-bert;"
                       "quant=dynamic-qint8;per_channel=1;reduce_range=0;ops=MatMul",
}


def cache_root() -> Path:
    """Where exports are kept: ``$TRIBUTARY_CACHE_DIR/onnx``, else ``~/.cache/tributary/onnx``."""
    base = os.environ.get("TRIBUTARY_CACHE_DIR")
    return Path(base) / "onnx" if base else Path.home() / ".cache" / "tributary" / "onnx"


def export_onnx(model, fingerprint: str, backend: str) -> Path:
    """The ONNX file for ``backend``, exporting (and quantising) it first if it is not cached.

    Written to a temporary name and renamed, so a concurrent or killed export never leaves a
    half-written file under the final name.
    """
    if backend not in ONNX_BACKENDS:
        raise ValueError(f"unknown ONNX backend {backend!r}; expected one of {ONNX_BACKENDS}")
    folder = cache_root() / fingerprint[:32]
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "onnx-fused-int8":
        return _fused_int8(model, folder)
    plain = folder / "model.onnx"
    if not plain.exists():
        _export_transformer(model, plain)
    if backend == "onnx":
        return plain
    quantised = folder / "model-int8.onnx"
    if not quantised.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            partial = Path(scratch) / "model-int8.onnx"
            quantize_dynamic(str(plain), str(partial), weight_type=QuantType.QInt8)
            os.replace(partial, quantised)
    return quantised


def _fused_int8(model, folder: Path) -> Path:
    """The eager-attention export, fused by ORT's BERT optimizer, MatMul weights int8 per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    import onnx

    tag = hashlib.sha256(BACKEND_CONFIGS["onnx-fused-int8"].encode()).hexdigest()[:12]
    target = folder / f"model-fused-int8-{tag}.onnx"
    if target.exists():
        return target
    config = model[0].auto_model.config
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        eager = Path(scratch) / "eager.onnx"
        _export_transformer(model, eager, attention="eager")
        fused = optimizer.optimize_model(str(eager), model_type="bert", num_heads=config.num_attention_heads,
                                         hidden_size=config.hidden_size, opt_level=0)
        fused_path = Path(scratch) / "fused.onnx"
        fused.save_model_to_file(str(fused_path))
        partial = Path(scratch) / target.name
        quantize_dynamic(str(fused_path), str(partial), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=False, op_types_to_quantize=["MatMul"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(partial, target)
    return target


def _export_transformer(model, target: Path, attention: str | None = None) -> None:
    """Export the model's transformer (token ids -> last hidden state) to ``target``.

    ``attention="eager"`` traces the plain softmax(QK^T)V graph that ORT's optimizer recognises
    (the default SDPA trace does not fuse); the model's own setting is restored afterwards.
    """
    inner = model[0].auto_model
    previous = inner.config._attn_implementation
    if attention:
        inner.set_attn_implementation(attention)
    try:
        _trace(model, target)
    finally:
        if attention:
            inner.set_attn_implementation(previous)


def _trace(model, target: Path) -> None:
    """``torch.onnx.export`` of the transformer with dynamic batch and sequence axes."""
    import torch

    class LastHiddenState(torch.nn.Module):
        """Keyword-only call into the transformer; returns the token embeddings alone."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    transformer = LastHiddenState(model[0].auto_model.to("cpu").eval())
    dummy = model.tokenizer(["an example sentence", "another one"], padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in dummy]
    dynamic = {name: {0: "batch", 1: "sequence"} for name in names}
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch, torch.inference_mode():
        partial = Path(scratch) / target.name
        torch.onnx.export(
            transformer, tuple(dummy[name] for name in names), str(partial),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={**dynamic, "last_hidden_state": {0: "batch", 1: "sequence"}},
            opset_version=_OPSET, dynamo=False,
        )
        os.replace(partial, target)


class OnnxEncoder:
    """A sentence-transformers-like encoder over an ONNX Runtime session (mean pooling, normalised)."""

    def __init__(self, path: Path, tokenizer, max_seq_length: int, dimension: int, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {item.name for item in self.session.get_inputs()}
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.dimension = dimension
        self.device = "cpu"

    def get_embedding_dimension(self) -> int:
        """Width of the vectors."""
        return self.dimension

    def encode(self, texts: list[str], batch_size: int = 64, normalize_embeddings: bool = True, **_ignored) -> np.ndarray:
        """Embed ``texts`` in length-sorted batches; rows come back in the input order."""
        output = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return output
        # characters stand in for tokens when sorting: close enough to group lengths, and free
        order = np.argsort([len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            batch = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                   max_length=self.max_seq_length, return_tensors="np")
            feeds = {name: batch[name].astype(np.int64) for name in self.input_names}
            hidden = self.session.run(["last_hidden_state"], feeds)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if normalize_embeddings:
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            output[rows] = pooled
        return output
