"""A versioned prompt-template registry: one file per template under ``data/prompts/``.

``<template_id>.txt`` holds the template text. Its version is the first 12 hex digits of the
sha256 of the NFC-normalised text, unless ``pins.json`` (``{"<template_id>": "<version>"}``) pins
one. Editing a template therefore gives it a new version, and so new cache keys.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from schemas.cache import CacheKeyRequest

TEMPLATE_SUFFIX = ".txt"
PINS_FILE = "pins.json"
VERSION_LENGTH = 12


@dataclass(frozen=True)
class PromptTemplate:
    """One registered template."""

    id: str
    version: str
    text: str
    pinned: bool = False


def text_version(text: str) -> str:
    """Short sha256 of the NFC-normalised template text."""
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def read_pins(folder: Path) -> dict[str, str]:
    """Pinned versions by template id (empty when there is no pins file)."""
    path = folder / PINS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_templates(folder: Path) -> dict[str, PromptTemplate]:
    """Every template in ``folder`` by id (an absent folder is an empty registry)."""
    if not folder.is_dir():
        return {}
    pins = read_pins(folder)
    templates = {}
    for path in sorted(folder.glob(f"*{TEMPLATE_SUFFIX}")):
        text = path.read_text(encoding="utf-8")
        template_id = path.name[: -len(TEMPLATE_SUFFIX)]
        pinned = pins.get(template_id)
        templates[template_id] = PromptTemplate(template_id, pinned or text_version(text), text, pinned is not None)
    return templates


def with_template(request: CacheKeyRequest, template: PromptTemplate) -> CacheKeyRequest:
    """The request with the template's id and current version filled in."""
    return request.model_copy(update={"prompt_template_id": template.id, "prompt_template_version": template.version})
