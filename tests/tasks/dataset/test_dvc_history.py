"""The DVC history forget walks: outs of dvc.lock and .dvc files, versions that name a user outside a dataset
manifest (a regression set), objects shared with a clean version kept by a purge; and the pool hook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.dataset.dvc_history import LEGACY, WORKSPACE, find_versions, outs_of, purge
from tasks.forget import forget_pool_rows
from tests.commands import DVC, run_ok


def test_outs_are_made_repo_relative_and_dvc_2_outs_are_legacy() -> None:
    lock = "schema: '2.0'\nstages:\n  a:\n    outs:\n    - path: out\n      md5: abc.dir\n      hash: md5\n"
    assert [(o.path, o.md5, o.hash_name) for o in outs_of(lock, "sub/dvc.lock")] == [("sub/out", "abc.dir", "md5")]
    single = "outs:\n- md5: def\n  path: golden.jsonl\n"
    assert [(o.path, o.hash_name) for o in outs_of(single, "data/golden.jsonl.dvc")] == [("data/golden.jsonl", LEGACY)]


def test_a_regression_set_naming_the_user_is_found_and_purged_keeping_shared_objects(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    sets = root / "data" / "regression"
    (sets / "golden").mkdir(parents=True)
    run_ok(["git", "init", "-q"], root)
    run_ok(["git", "config", "user.email", "t@example.com"], root)
    run_ok(["git", "config", "user.name", "t"], root)
    run_ok([*DVC, "init", "-q"], root)
    (sets / "golden" / "manifest.json").write_text('{"name": "golden"}\n')  # a regression manifest: no user_hashes
    (sets / "golden" / "cases.jsonl").write_text('{"id": "1", "user_hash": "aaaa1111"}\n{"id": "2", "user_hash": "bbbb"}\n')
    run_ok([*DVC, "add", "-q", "data/regression/golden"], root)
    run_ok(["git", "add", "-A"], root)
    run_ok(["git", "commit", "-qm", "with the user"], root)
    (sets / "golden" / "cases.jsonl").write_text('{"id": "2", "user_hash": "bbbb"}\n')
    run_ok([*DVC, "add", "-q", "data/regression/golden"], root)  # the workspace now records the clean version

    findings = find_versions(root, "aaaa1111")
    [held] = findings.holding
    assert held.path == "data/regression/golden" and held.revisions != [WORKSPACE]
    assert [v.revisions for v in findings.clean] == [[WORKSPACE]]
    manifest_object = next(iter(findings.clean[0].objects & held.objects))  # the unchanged manifest.json is shared
    assert len(findings.doomed_objects()) == 2  # the old listing and the old cases.jsonl, not the manifest
    assert purge(root, findings) == {"cache": 2, "remote": 0}  # no remote configured: the cache only
    cache = root / ".dvc" / "cache" / "files" / "md5"
    assert (cache / manifest_object[:2] / manifest_object[2:]).exists()
    again = find_versions(root, "aaaa1111")
    assert again.holding == [] and again.unreadable == 1 and purge(root, again) == {"cache": 0, "remote": 0}


def test_pool_rows_are_none_without_a_pool_uri_and_zero_for_a_pool_not_built_yet(tmp_path: Path) -> None:
    assert forget_pool_rows(None, "aaaa1111") is None
    assert forget_pool_rows(str(tmp_path / "no-pool-yet"), "aaaa1111") == 0
