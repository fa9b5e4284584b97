"""The pipeline's analyzer: presidio's engine and registry with our recognizers, one per process."""

from __future__ import annotations

import functools

from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from tasks.pii.engine import LANGUAGE, build_nlp_engine
from tasks.pii.names import (
    IntroductionRecognizer,
    LowerCaseCuedNameRecognizer,
    PersonShape,
    PlausibleSpacyRecognizer,
    SurnameRecognizer,
    english_inflections,
)
from tasks.pii.recognizers import (
    COMMON_WORDS,
    CapitalisedNameRecognizer,
    CuedNameRecognizer,
    GazetteerNameRecognizer,
    GroupedPhoneRecognizer,
    LuhnCardRecognizer,
    MONTHS_AND_DAYS,
    NameLikeEntityRecognizer,
    OfflineEmailRecognizer,
    id_number_recognizer,
    international_phone_recognizer,
    international_street_recognizer,
    introduced_name_recognizer,
    street_address_recognizer,
    english_words,
    person_name_gazetteer,
    user_handle_recognizer,
)


def build_analyzer(skip_parser: bool = True, extra_recognizers: bool = True) -> AnalyzerEngine:
    """presidio's analyzer on the installed spaCy model.

    Args:
        skip_parser: Disable spaCy's dependency parser (presidio reads tokens, lemmas and
            entities, never the parse), which makes every text cheaper.
        extra_recognizers: Add our recognizers (False gives presidio's defaults, for comparison).

    Returns:
        The analyzer; the email recognizer never fetches the public suffix list.
    """
    nlp_engine = build_nlp_engine(skip_parser)
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
    registry = analyzer.registry
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    if extra_recognizers:
        nlp = nlp_engine.nlp[LANGUAGE]
        english = english_words(nlp)
        inflections = english_inflections(nlp)
        shape = PersonShape(english | inflections, *person_name_gazetteer())
        spacy_recognizer = next(r for r in registry.recognizers if type(r) is SpacyRecognizer)
        registry.remove_recognizer(spacy_recognizer.name)
        registry.add_recognizer(
            PlausibleSpacyRecognizer(
                shape,
                supported_language=spacy_recognizer.supported_language,
                supported_entities=list(spacy_recognizer.supported_entities),
                ner_strength=spacy_recognizer.ner_strength,
            )
        )
        registry.add_recognizer(street_address_recognizer())
        registry.add_recognizer(international_street_recognizer())
        registry.add_recognizer(international_phone_recognizer())
        registry.add_recognizer(introduced_name_recognizer())
        registry.add_recognizer(CapitalisedNameRecognizer(nlp, shape))
        registry.add_recognizer(GazetteerNameRecognizer(english, inflections=inflections))
        registry.add_recognizer(NameLikeEntityRecognizer(english, inflections=inflections))
        registry.add_recognizer(SurnameRecognizer(english | inflections, *person_name_gazetteer()))
        registry.add_recognizer(LowerCaseCuedNameRecognizer(english | inflections, person_name_gazetteer()[0]))
        registry.add_recognizer(IntroductionRecognizer(english | inflections, *person_name_gazetteer(), COMMON_WORDS | MONTHS_AND_DAYS))
        for recognizer in (
            CuedNameRecognizer(shape),
            CuedNameRecognizer(shape, fields=True),
            user_handle_recognizer(),
            id_number_recognizer(),
            LuhnCardRecognizer(),
            GroupedPhoneRecognizer(),
        ):
            registry.add_recognizer(recognizer)
    return analyzer


def load_analyzer(skip_parser: bool = True) -> AnalyzerEngine:
    """The pipeline's analyzer (extra recognizers), built once per process and parser setting."""
    return _analyzer_for(bool(skip_parser))  # one cache key a setting: load_analyzer() is load_analyzer(True)


@functools.cache
def _analyzer_for(skip_parser: bool) -> AnalyzerEngine:
    return build_analyzer(skip_parser=skip_parser)
