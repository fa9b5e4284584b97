"""presidio imported without torch and transformers, which our spaCy pipeline never calls."""

from __future__ import annotations

import importlib
import sys

HIDDEN = ("torch", "transformers")


def import_presidio() -> None:
    """Import presidio and spaCy with torch and transformers hidden, unless one of them is loaded already.

    presidio's ``nlp_engine`` package imports its transformers engine, and with it transformers and
    torch: about 6 s of an 8 s import on the 2-core machine, paid by every process that redacts (the
    ahead process of a rebuild, each worker of a cold build). Hidden, those imports raise
    ``ImportError``, which presidio and thinc catch and record as "not installed"; the names are then
    released, so a later ``import torch`` in the same process (the embedding model) loads it as usual.
    The spaCy engine and every recognizer are the same either way (``tests/tasks/pii/test_slim.py``).
    This module sits outside ``tasks/pii`` on purpose: how presidio is imported is not part of the
    redactor's fingerprint (``tasks.pii.version``), so it invalidates no pool row.
    """
    if "presidio_analyzer" in sys.modules or any(name in sys.modules for name in HIDDEN):
        return
    sys.modules.update(dict.fromkeys(HIDDEN))
    try:
        for name in ("thinc.api", "spacy", "presidio_analyzer"):
            importlib.import_module(name)
    finally:
        for name in HIDDEN:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
