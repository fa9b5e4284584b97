"""params.yaml's serving section equals the ServingParams defaults."""

from __future__ import annotations

from pathlib import Path

from schemas.params import ServingParams, load_params

PARAMS = Path(__file__).resolve().parents[3] / "params.yaml"


def test_params_yaml_serving_section_equals_model_defaults():
    assert load_params("serving", ServingParams, PARAMS) == ServingParams()
