"""One params path: defaults in the models, params.yaml laid over them, overrides last."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from schemas.params import (
    DatasetParams,
    IngestParams,
    NightlyParams,
    RunnerParams,
    ServingParams,
    apply_overrides,
    load_params,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "params.yaml"
MODELS = {m.section: m for m in (IngestParams, DatasetParams, ServingParams, RunnerParams)}


def _leaves(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, f"{prefix}{key}."))
        elif not isinstance(value, dict):
            out[f"{prefix}{key}"] = value
    return out


def test_params_yaml_restates_a_default_only_where_dvc_yaml_names_it():
    """Defaults are written once: a key in params.yaml either differs from the model's default or is
    a path dvc.yaml templates (``${...}``), which DVC can only read from params.yaml."""
    document = yaml.safe_load(PARAMS.read_text())
    templated = set(re.findall(r"\$\{([\w.]+)\}", (ROOT / "dvc.yaml").read_text()))
    for section, model in MODELS.items():
        defaults = _leaves(model().model_dump(mode="json"))
        for key, value in _leaves(document.get(section) or {}).items():
            dotted = f"{section}.{key}"
            assert value != defaults[key] or dotted in templated, f"{dotted} restates the default {value!r}"
    assert templated <= {f"{s}.{k}" for s in MODELS for k in _leaves(document.get(s) or {})}


def test_the_file_is_laid_over_the_defaults_and_overrides_over_the_file(tmp_path):
    file = tmp_path / "params.yaml"
    file.write_text(yaml.safe_dump({"ingest": {"chunk": {"max_tokens": 100}, "index": {"table": "docs"}}}))
    params = load_params(IngestParams, {"index": {"db": "elsewhere", "table": None}}, file)
    assert params.chunk.max_tokens == 100 and params.chunk.min_tokens == IngestParams().chunk.min_tokens
    assert (params.index.db, params.index.table) == ("elsewhere", "docs")  # None keeps the file's value


def test_the_params_file_comes_from_the_environment(tmp_path, monkeypatch):
    file = tmp_path / "custom.yaml"
    file.write_text(yaml.safe_dump({"runner": {"kind": "threads", "workers": 3}}))
    monkeypatch.setenv("TRIBUTARY_PARAMS", str(file))
    assert load_params(RunnerParams) == RunnerParams(kind="threads", workers=3)


def test_a_missing_file_gives_the_defaults(tmp_path):
    assert load_params(DatasetParams, path=tmp_path / "none.yaml") == DatasetParams()


def test_the_nightly_run_composes_every_stage_section(tmp_path):
    file = tmp_path / "params.yaml"
    file.write_text(yaml.safe_dump({"dataset": {"name": "support"}, "runner": {"kind": "threads"}, "nightly": {"cron": "5 4 * * *"}}))
    nightly = load_params(NightlyParams, path=file)
    assert (nightly.dataset.name, nightly.runner.kind, nightly.cron) == ("support", "threads", "5 4 * * *")
    assert nightly.ingest == IngestParams()


def test_unknown_keys_are_rejected(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({"ingest": {"chunk": {"max_tokenz": 10}}}))
    with pytest.raises(ValidationError, match="max_tokenz"):
        load_params(IngestParams, path=bad)


def test_apply_overrides_validates_again():
    params = apply_overrides(IngestParams(), {"chunk": {"max_tokens": 64}})
    assert params.chunk.max_tokens == 64
    with pytest.raises(ValidationError):
        apply_overrides(IngestParams(), {"chunk": {"max_tokens": 1}})


def test_fingerprint_changes_with_any_value():
    assert IngestParams().chunk.fingerprint() != IngestParams(chunk={"max_tokens": 100}).chunk.fingerprint()
    assert IngestParams().chunk.fingerprint() == IngestParams().chunk.fingerprint()


def test_an_unset_option_in_a_section_the_file_lacks_keeps_the_default(tmp_path):
    """Regression: `{"cache": {"redis_url": None}}` over a file without `cache` passed None through."""
    file = tmp_path / "params.yaml"
    file.write_text(yaml.safe_dump({"serving": {}}))
    assert load_params(ServingParams, {"cache": {"redis_url": None, "backend": "redis"}}, file).cache.redis_url == ServingParams().cache.redis_url
