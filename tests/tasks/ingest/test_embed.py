"""Embedding backends and the device path, with the real all-MiniLM-L6-v2."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.params import EmbedParams
from tasks.common.models import load_embedding_model, model_fingerprint
from tasks.common import onnx_backend
from tasks.common.onnx_backend import OnnxEncoder, export_onnx
from tasks.ingest.embed import describe_model, encode_on_device, length_order, load_embedder
from tasks.ingest.prefect_tasks import VectorMemo

TEXTS = [
    "Statins lower cholesterol.",
    "Recent studies have suggested that statins, an established drug group in the prevention of "
    "cardiovascular mortality, could delay or prevent breast cancer recurrence but the effect on "
    "disease-specific mortality remains unclear. " * 3,
    "Diet and cancer.",
    "We evaluated risk of breast cancer death among statin users in a population-based cohort.",
]


@pytest.fixture(scope="module")
def torch_embedder():
    return load_embedder(EmbedParams(device="cpu"))


def test_onnx_backend_gives_the_torch_vectors(torch_embedder):
    onnx = load_embedder(EmbedParams(backend="onnx"))
    assert np.allclose(onnx.encode(TEXTS), torch_embedder.encode(TEXTS), atol=1e-5)


def test_int8_backend_stays_close_to_torch(torch_embedder):
    int8 = load_embedder(EmbedParams(backend="onnx-int8"))
    cosines = (int8.encode(TEXTS) * torch_embedder.encode(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.95


def test_fused_int8_backend_builds_offline_and_stays_close_to_torch(torch_embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRIBUTARY_CACHE_DIR", str(tmp_path))
    model = load_embedding_model("all-MiniLM-L6-v2", "cpu")
    attention = model[0].auto_model.config._attn_implementation
    path = export_onnx(model, "e" * 64, "onnx-fused-int8")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no plain export, no temp leftovers
    assert model[0].auto_model.config._attn_implementation == attention  # the shared torch model is restored
    import onnx

    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"Attention", "SkipLayerNormalization", "MatMulInteger"} <= ops
    encoder = OnnxEncoder(path, model.tokenizer, model.max_seq_length, model.get_embedding_dimension())
    cosines = (encoder.encode(TEXTS) * torch_embedder.encode(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.98  # dynamic int8 over every op: > 0.95 only


def test_fingerprint_covers_the_backend(torch_embedder):
    backends = ("torch", "onnx", "onnx-int8", "onnx-fused-int8")
    prints = {backend: model_fingerprint("all-MiniLM-L6-v2", "cpu", backend) for backend in backends}
    assert len(set(prints.values())) == 4
    assert load_embedder(EmbedParams(backend="onnx")).info.fingerprint == prints["onnx"]
    assert torch_embedder.info.fingerprint == prints["torch"]


def test_fingerprint_covers_the_fused_recipe(monkeypatch):
    before = model_fingerprint("all-MiniLM-L6-v2", "cpu", "onnx-fused-int8")
    recipe = onnx_backend.BACKEND_CONFIGS["onnx-fused-int8"].replace("per_channel=1", "per_channel=0")
    monkeypatch.setitem(onnx_backend.BACKEND_CONFIGS, "onnx-fused-int8", recipe)
    assert model_fingerprint("all-MiniLM-L6-v2", "cpu", "onnx-fused-int8") != before


def test_switching_backend_does_not_reuse_the_last_manifests_model(torch_embedder):
    known = torch_embedder.info
    assert describe_model(EmbedParams(device="cpu"), known) is known
    switched = describe_model(EmbedParams(backend="onnx"), known)
    assert switched.backend == "onnx" and switched.fingerprint != known.fingerprint


def test_export_is_cached_by_fingerprint(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTARY_CACHE_DIR", str(tmp_path))
    model = load_embedding_model("all-MiniLM-L6-v2", "cpu")
    first = export_onnx(model, "f" * 64, "onnx")
    stamp = first.stat().st_mtime_ns
    again = export_onnx(model, "f" * 64, "onnx")
    assert again == first and again.stat().st_mtime_ns == stamp
    assert first.parent.parent == tmp_path / "onnx"
    assert not [p for p in first.parent.iterdir() if p.name != "model.onnx"]  # no temp leftovers


def test_length_sorted_device_path_keeps_the_input_order(torch_embedder):
    reference = torch_embedder.encode(TEXTS)
    vectors = encode_on_device(torch_embedder.model, TEXTS, batch_size=2, half=False)
    assert np.allclose(vectors, reference, atol=1e-5)
    assert list(length_order([3, 9, 1, 9])) == [1, 3, 0, 2]


def test_vector_memo_embeds_each_text_once(torch_embedder):
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        return torch_embedder.encode(texts)

    memo = VectorMemo(encode)
    memo.encode(TEXTS[:2])
    vectors = memo.encode_missing([TEXTS[1], TEXTS[2], TEXTS[1]])
    assert calls == [TEXTS[:2], [TEXTS[2]]]
    assert np.allclose(vectors, torch_embedder.encode([TEXTS[1], TEXTS[2], TEXTS[1]]), atol=1e-5)


def test_batch_size_is_automatic_per_device_unless_set() -> None:
    from schemas.params import CPU_BATCH_SIZE, DEVICE_BATCH_SIZE, EmbedParams

    assert EmbedParams().batch_size_on("cpu") == CPU_BATCH_SIZE < DEVICE_BATCH_SIZE == EmbedParams().batch_size_on("cuda:0")
    assert EmbedParams(batch_size=64).batch_size_on("cpu") == 64 == EmbedParams(batch_size=64).batch_size_on("cuda")
