"""Cache keys: documented test vectors, stability, sensitivity, and no key for non-deterministic calls."""

from __future__ import annotations

import hashlib
import json
import unicodedata

import pytest

from schemas.cache import CacheKeyRequest
from tasks.serving.cache_key import cache_key, canonical_bytes

RAG_REQUEST = {
    "model": "claude-3-5-haiku", "model_version": "2024-10-22", "prompt_template_id": "support-rag",
    "prompt_template_version": "v7", "system_prompt": "Answer from the documents.", "temperature": 0.0,
    "messages": [{"role": "user", "content": "How do I rotate a webhook secret?"}], "corpus_version": "v3",
    "retrieved_documents": [{"id": "guides/webhooks.md", "content_hash": "bbbb"}, {"id": "api-rate-limits.md", "content_hash": "aaaa"}],
}
# The README's test vectors: request, canonical serialisation, key.
VECTORS = [
    (
        {"model": "claude-3-5-haiku", "model_version": "2024-10-22", "prompt_template_id": "support",
         "prompt_template_version": "3f2a9c1b7d4e", "system_prompt": "You are a helpful assistant.", "temperature": 0,
         "messages": [{"role": "user", "content": "How do I reset my password?"}]},
        '{"corpus_version":null,"messages":[{"content":"How do I reset my password?","name":null,"role":"user"}],'
        '"model":"claude-3-5-haiku","model_version":"2024-10-22","prompt_template_id":"support",'
        '"prompt_template_version":"3f2a9c1b7d4e","retrieved_documents":[],"system_prompt":"You are a helpful assistant."}',
        "tributary:v1:9422b75b0662f644450ebf2b0516588b79cd3b2f4ef51accce59375414518c26",
    ),
    (
        RAG_REQUEST,
        '{"corpus_version":"v3","messages":[{"content":"How do I rotate a webhook secret?","name":null,"role":"user"}],'
        '"model":"claude-3-5-haiku","model_version":"2024-10-22","prompt_template_id":"support-rag",'
        '"prompt_template_version":"v7","retrieved_documents":[{"content_hash":"aaaa","id":"api-rate-limits.md"},'
        '{"content_hash":"bbbb","id":"guides/webhooks.md"}],"system_prompt":"Answer from the documents."}',
        "tributary:v1:62d6f5c60a3835119b36aefae928025ae116f979b537b25bed9e14806a7bd444",
    ),
    (
        {"model": "gpt-4o", "model_version": None, "system_prompt": "Réponds en français.", "temperature": 0,
         "messages": [{"role": "user", "content": "Où est le café ? 東京"}, {"role": "assistant", "content": "Ici."},
                      {"role": "user", "content": "Merci"}]},
        '{"corpus_version":null,"messages":[{"content":"Où est le café ? 東京","name":null,"role":"user"},'
        '{"content":"Ici.","name":null,"role":"assistant"},{"content":"Merci","name":null,"role":"user"}],'
        '"model":"gpt-4o","model_version":null,"prompt_template_id":null,"prompt_template_version":null,'
        '"retrieved_documents":[],"system_prompt":"Réponds en français."}',
        "tributary:v1:38e950d39de04d3ddd342a78a2e1f21505504e6ab826d7292f7fe82acc8cb79b",
    ),
]


def key_of(payload: dict) -> str | None:
    return cache_key(CacheKeyRequest.model_validate(payload)).key


@pytest.mark.parametrize(("payload", "canonical", "expected"), VECTORS)
def test_documented_vectors(payload, canonical, expected):
    request = CacheKeyRequest.model_validate(payload)
    assert canonical_bytes(request) == canonical.encode("utf-8")
    assert expected == "tributary:v1:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert cache_key(request).key == expected


def test_field_order_and_document_order_do_not_change_the_key():
    shuffled = dict(reversed(list(RAG_REQUEST.items())))
    shuffled["retrieved_documents"] = list(reversed(RAG_REQUEST["retrieved_documents"]))
    assert key_of(json.loads(json.dumps(shuffled))) == key_of(RAG_REQUEST)


def test_nfc_and_nfd_give_the_same_key():
    text = "Où est le café ? Ångström"
    nfc = {**RAG_REQUEST, "messages": [{"role": "user", "content": unicodedata.normalize("NFC", text)}]}
    nfd = {**RAG_REQUEST, "messages": [{"role": "user", "content": unicodedata.normalize("NFD", text)}]}
    assert unicodedata.normalize("NFC", text) != unicodedata.normalize("NFD", text)
    assert key_of(nfc) == key_of(nfd)


@pytest.mark.parametrize("change", [
    {"model": "claude-3-5-sonnet"}, {"model_version": "2025-01-01"}, {"prompt_template_id": "support"},
    {"prompt_template_version": "v8"}, {"corpus_version": "v4"}, {"system_prompt": "Answer briefly."},
    {"messages": [{"role": "user", "content": "How do I rotate a webhook secret?!"}]},
    {"retrieved_documents": [{"id": "guides/webhooks.md", "content_hash": "cccc"}, {"id": "api-rate-limits.md", "content_hash": "aaaa"}]},
    {"retrieved_documents": [{"id": "guides/webhooks.md", "content_hash": "bbbb"}]},
])
def test_any_change_that_affects_the_answer_changes_the_key(change):
    assert key_of({**RAG_REQUEST, **change}) != key_of(RAG_REQUEST)


@pytest.mark.parametrize("temperature", [0.2, 1e-9, 1.0])
def test_temperature_above_zero_gets_no_key(temperature):
    result = cache_key(CacheKeyRequest.model_validate({**RAG_REQUEST, "temperature": temperature}))
    assert result.key is None and "not deterministic" in result.reason


def test_retrieval_without_corpus_version_gets_no_key():
    result = cache_key(CacheKeyRequest.model_validate({**RAG_REQUEST, "corpus_version": None}))
    assert result.key is None and "corpus_version" in result.reason
