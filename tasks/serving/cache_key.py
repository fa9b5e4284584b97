"""Deterministic cache keys for LLM calls, reproducible in any language.

Algorithm (key format ``v1``, documented with test vectors in the README):

1. Only ``temperature == 0`` gets a key; any other temperature gets none, with the reason.
   A request with retrieved documents but no ``corpus_version`` gets none either.
2. Build the fixed-field object ``{corpus_version, messages: [{content, name, role}], model,
   model_version, prompt_template_id, prompt_template_version, retrieved_documents: [{content_hash,
   id}], system_prompt}``; absent optional values are ``null``; every string is NFC-normalised;
   retrieved documents are sorted by ``(id, content_hash)``; message order is kept.
3. Serialise as JSON with sorted keys, separators ``(",", ":")`` and non-ASCII characters kept
   as they are (``ensure_ascii=False``), encode as UTF-8.
4. ``key = "tributary:v1:" + sha256(bytes).hexdigest()``.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from schemas.cache import CacheKeyRequest, CacheKeyResult

KEY_FORMAT = "v1"
KEY_PREFIX = f"tributary:{KEY_FORMAT}:"


def nfc(value: str | None) -> str | None:
    """NFC-normalise a string (None stays None)."""
    return unicodedata.normalize("NFC", value) if value is not None else None


def canonical_object(request: CacheKeyRequest) -> dict[str, Any]:
    """The fixed-field object that is hashed: every field present, strings NFC, documents sorted."""
    documents = sorted((nfc(doc.id), nfc(doc.content_hash)) for doc in request.retrieved_documents)
    return {
        "corpus_version": nfc(request.corpus_version),
        "messages": [{"content": nfc(m.content), "name": nfc(m.name), "role": nfc(m.role)} for m in request.messages],
        "model": nfc(request.model),
        "model_version": nfc(request.model_version),
        "prompt_template_id": nfc(request.prompt_template_id),
        "prompt_template_version": nfc(request.prompt_template_version),
        "retrieved_documents": [{"content_hash": digest, "id": doc_id} for doc_id, digest in documents],
        "system_prompt": nfc(request.system_prompt),
    }


def canonical_bytes(request: CacheKeyRequest) -> bytes:
    """The UTF-8 bytes of the canonical JSON serialisation."""
    text = json.dumps(canonical_object(request), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def no_key_reason(request: CacheKeyRequest) -> str | None:
    """Why a request must not be cached, or None when it may be."""
    if request.temperature != 0:
        return f"temperature {request.temperature:g} > 0: the call is not deterministic, so it is never cached"
    if request.retrieved_documents and not request.corpus_version:
        return "retrieved_documents without corpus_version: the key could not be invalidated by corpus version"
    return None


def cache_key(request: CacheKeyRequest) -> CacheKeyResult:
    """The request's cache key, or no key and the reason.

    Args:
        request: The call, with the log schema's field names.

    Returns:
        ``CacheKeyResult(key="tributary:v1:<sha256 hex>")`` or ``CacheKeyResult(key=None, reason=...)``.
    """
    reason = no_key_reason(request)
    if reason:
        return CacheKeyResult(key=None, reason=reason)
    return CacheKeyResult(key=KEY_PREFIX + hashlib.sha256(canonical_bytes(request)).hexdigest())
