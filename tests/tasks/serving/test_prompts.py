"""Prompt-template registry: content-hash versions, pins, and keys that follow the template."""

from __future__ import annotations

import json

from schemas.cache import CacheKeyRequest
from tasks.serving.cache_key import cache_key
from tasks.serving.prompts import load_templates, text_version, with_template

REQUEST = CacheKeyRequest(model="m", temperature=0, messages=[{"role": "user", "content": "hi"}])


def test_version_is_the_text_hash_and_a_change_changes_the_key(tmp_path):
    (tmp_path / "support.txt").write_text("You are a support assistant.", encoding="utf-8")
    before = load_templates(tmp_path)["support"]
    assert before.version == text_version("You are a support assistant.") and len(before.version) == 12
    (tmp_path / "support.txt").write_text("You are a concise support assistant.", encoding="utf-8")
    after = load_templates(tmp_path)["support"]
    assert after.version != before.version
    assert cache_key(with_template(REQUEST, after)).key != cache_key(with_template(REQUEST, before)).key


def test_pinned_version_wins_and_missing_folder_is_empty(tmp_path):
    (tmp_path / "support.txt").write_text("text", encoding="utf-8")
    (tmp_path / "pins.json").write_text(json.dumps({"support": "v2"}), encoding="utf-8")
    template = load_templates(tmp_path)["support"]
    assert template.version == "v2" and template.pinned
    assert load_templates(tmp_path / "absent") == {}
