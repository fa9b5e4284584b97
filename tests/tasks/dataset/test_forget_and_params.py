"""Deny-list of hashed users, version lookup, and params/dvc.yaml kept in step with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from schemas.params import DatasetParams, load_params
from tasks.dataset.forget import forget_user, read_deny_list, record_version
from tasks.dataset.select import user_hash
from tasks.dataset.version import ENTRY_MODULE, STAGE, dvc_stage
from tools.dvc_deps import reachable_files

ROOT = Path(__file__).resolve().parents[3]


def test_forget_stores_a_hash_and_lists_versions(tmp_path: Path) -> None:
    deny, root = tmp_path / "forget" / "deny.txt", tmp_path / "datasets"
    hashed = user_hash("user-7", "salt")
    record_version(root, "sample", "v1", [hashed, "other"])
    record_version(root, "sample", "v2", ["other"])
    outcome = forget_user("user-7", deny, root, "salt")
    assert outcome.added and outcome.user_hash == hashed
    assert outcome.versions == [{"name": "sample", "version": "v1"}]
    assert read_deny_list(deny) == {hashed} and "user-7" not in deny.read_text()
    assert not forget_user("user-7", deny, root, "salt").added


def test_dvc_yaml_stage_is_rendered_from_params() -> None:
    document = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    params = load_params(DatasetParams, path=ROOT / "params.yaml")
    assert document["stages"][STAGE] == dvc_stage(params, reachable_files(ROOT, ENTRY_MODULE))
