"""params.yaml is the one source of defaults: it must equal the models' own defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from schemas.params import IngestParams, load_params

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def test_params_yaml_ingest_section_equals_model_defaults():
    assert load_params("ingest", IngestParams, PARAMS) == IngestParams()


def test_unknown_keys_are_rejected(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({"ingest": {"chunk": {"max_tokenz": 10}}}))
    with pytest.raises(ValidationError, match="max_tokenz"):
        load_params("ingest", IngestParams, bad)


def test_fingerprint_changes_with_any_value():
    assert IngestParams().chunk.fingerprint() != IngestParams(chunk={"max_tokens": 100}).chunk.fingerprint()
    assert IngestParams().chunk.fingerprint() == IngestParams().chunk.fingerprint()
