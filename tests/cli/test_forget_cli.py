"""``tributary forget`` end to end: deny-list, both cache backends, regression sets, the DVC history of a real git + DVC
repo with a local-folder remote, ``--purge-remote`` (warned, confirmed), and a second call that removes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import make_app
from cli.dataset import COMMANDS
from schemas.params import DatasetParams, RegressionParams, ServingParams
from tasks.dataset.pool import Pool
from tasks.dataset.prefect_tasks import prepare_lines
from tasks.dataset.read import RawLine
from tasks.dataset.select import user_hash
from tasks.serving.regression import build_regression_set, write_regression_set
from tasks.serving.store import RedisCacheStore, SqliteCacheStore
from tasks.serving.warm import build_warm_set
from tests.tasks.serving.conftest import redis_server, redis_url  # noqa: F401  (the session's real redis-server)
from tests.tasks.serving.test_forget import LOGS, NOW  # NOW: the real clock (entries expire)
from tests.commands import DVC, run_ok

app = make_app(COMMANDS)


def _write_version(repo: Path, version: str, users: list[str], salt: str) -> None:
    """A dataset version as the build lays it out (a manifest naming its users' hashes), plus a file every version shares."""
    out = repo / "data" / "datasets" / "sample"
    out.mkdir(parents=True, exist_ok=True)
    hashes = sorted(user_hash(u, salt) for u in users)
    (out / "manifest.json").write_text(json.dumps({"name": "sample", "version": version, "user_hashes": hashes}))
    (out / "train.jsonl").write_text("".join(json.dumps({"messages": [{"role": "user", "content": u}]}) + "\n" for u in users))
    (out / "README.md").write_text("shared by every version\n")


def _commit(repo: Path, message: str) -> str:
    run_ok([*DVC, "commit", "--force", "-q", "build_dataset"], repo)
    run_ok([*DVC, "push", "-q"], repo)
    run_ok(["git", "add", "-A"], repo)
    run_ok(["git", "commit", "-qm", message], repo)
    return run_ok(["git", "rev-parse", "HEAD"], repo).strip()[:12]


@pytest.fixture()
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A git + DVC repo whose dataset has two committed, pushed versions: v1 holds alice, v2 was rebuilt without her."""
    root = tmp_path / "repo"
    root.mkdir()
    salt = DatasetParams().forget.user_hash_salt
    run_ok(["git", "init", "-q"], root)
    run_ok(["git", "config", "user.email", "test@example.com"], root)
    run_ok(["git", "config", "user.name", "test"], root)
    run_ok([*DVC, "init", "-q"], root)
    run_ok([*DVC, "remote", "add", "-d", "local", str(tmp_path / "remote")], root)
    (root / "dvc.yaml").write_text("stages:\n  build_dataset:\n    cmd: echo built\n    outs:\n    - data/datasets/sample\n")
    _write_version(root, "v1", ["alice", "bob"], salt)
    first = _commit(root, "v1")
    _write_version(root, "v2", ["bob"], salt)
    second = _commit(root, "v2")
    return root, [first, second]


def _objects(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_forget_reaches_every_store_and_a_second_call_removes_nothing(repo, tmp_path: Path, redis_url: str) -> None:  # noqa: F811
    root, (first, second) = repo
    dataset = DatasetParams.model_validate({
        "out_root": str(tmp_path / "datasets"), "forget": {"deny_list": str(tmp_path / "deny.txt")},
        "decontaminate": {"regression_root": str(tmp_path / "regression")},
    })
    serving = ServingParams(
        cache={"path": str(tmp_path / "cache.sqlite3"), "redis_url": redis_url},
        regression=RegressionParams(name="golden", out_root=str(tmp_path / "regression")),
    )
    warm = build_warm_set(LOGS, serving, dataset, NOW).entries
    local, remote = SqliteCacheStore(serving.cache.path), RedisCacheStore.from_url(redis_url)
    remote._redis.flushdb()
    for entry in warm:
        local.put(entry)
        remote.put(entry)
    lines = [RawLine(source="logs.jsonl", line=i + 1, text=log.model_dump_json() + "\n") for i, log in enumerate(LOGS)]
    pool = Pool.open(dataset.pool_uri, dataset)
    pool.append(prepare_lines(lines, dataset, frozenset(), None, pool.rows_for(lines)).new_rows)  # alice: r1, r3
    cases, retrieval, counts, strata = build_regression_set(LOGS, serving, dataset)
    write_regression_set(tmp_path / "regression" / "golden", cases, retrieval, counts, strata, serving, NOW)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({"dataset": dataset.model_dump(mode="json"),
                                           "serving": serving.model_dump(mode="json")}))
    cache_before = _objects(root / ".dvc" / "cache")
    remote_before = _objects(tmp_path / "remote")
    command = ["forget", "--user-id", "alice", "--params", str(params_file), "--repo", str(root),
               "--redis-url", redis_url, "--json"]

    listed = CliRunner().invoke(app, command)
    assert listed.exit_code == 0, listed.output
    report = json.loads(listed.stdout)
    assert report["deny_list"] is True and "alice" not in (tmp_path / "deny.txt").read_text()
    assert report["cache_entries"] == {"local": 2, "redis": 2}
    assert report["regression_cases"] == {str(tmp_path / "regression" / "golden"): {"cases": 2, "retrieval": 1, "unattributed": 0}}
    assert report["pool_rows"] == 2  # alice's two calls
    [held] = report["dvc_versions"]
    assert (held["path"], held["version"], held["revisions"]) == ("data/datasets/sample", "v1", [first])
    assert report["purge_objects"] == 3 and report["purged_objects"] is None  # v1's listing, manifest and train file
    assert _objects(tmp_path / "remote") == remote_before  # listing deletes nothing
    assert sorted(local.get(k).source_request_id for k in local.keys()) == ["r2", "r4"]
    assert sorted(remote.get(k).source_request_id for k in remote.keys()) == ["r2", "r4"]

    refused = CliRunner().invoke(app, [*command, "--purge-remote"], input="n\n")
    assert refused.exit_code == 1 and "WARNING: --purge-remote deletes 3 objects" in refused.stderr
    report = json.loads(refused.stdout.splitlines()[-1])  # CliRunner echoes the typed answer to stdout
    assert "nothing purged" in refused.stderr and report["purged_objects"] is None and report["purge_objects"] == 3
    assert _objects(tmp_path / "remote") == remote_before

    purged = CliRunner().invoke(app, [*command, "--purge-remote", "--yes"])
    assert purged.exit_code == 0, purged.output
    assert "cannot be undone" in purged.stderr
    report = json.loads(purged.stdout)
    assert report["purged_objects"] == {"cache": 3, "remote": 3}
    assert len(remote_before - _objects(tmp_path / "remote")) == 3 and len(cache_before - _objects(root / ".dvc" / "cache")) == 3
    run_ok(["git", "checkout", "-q", second], root)
    run_ok([*DVC, "checkout", "-q", "--force"], root)  # the clean version, shared file included, is intact
    assert "alice" not in (root / "data" / "datasets" / "sample" / "train.jsonl").read_text()

    again = CliRunner().invoke(app, [*command, "--purge-remote", "--yes"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["removed"] == 0 and report["deny_list"] is False and report["dvc_versions"] == []
    assert report["pool_rows"] == 0
    assert report["cache_entries"] == {"local": 0, "redis": 0} and report["purged_objects"] == {"cache": 0, "remote": 0}
    readable = CliRunner().invoke(app, command[:-1])
    assert readable.exit_code == 0 and "nothing left to remove" in readable.stdout
    assert "already on the deny-list" in readable.stdout and "0 cases, 0 retrieval cases removed" in readable.stdout
    local.close()
    remote.close()


def test_an_unreachable_redis_fails_the_command_after_every_other_step(tmp_path: Path) -> None:
    from tests.tasks.serving.conftest import free_port

    deny = tmp_path / "deny.txt"
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({
        "dataset": {"out_root": str(tmp_path / "datasets"), "forget": {"deny_list": str(deny)}},
        "serving": {"cache": {"path": str(tmp_path / "none.sqlite3")}, "regression": {"out_root": str(tmp_path / "r")}},
    }))
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(app, ["forget", "--user-id", "alice", "--params", str(params_file), "--redis-url", url, "--json"])
    assert result.exit_code == 1 and f"not forgotten in redis at {url}" in result.stderr
    report = json.loads(result.stdout)
    assert report["deny_list"] is True and report["cache_entries"] == {"local": None, "redis": None}
    assert user_hash("alice", DatasetParams().forget.user_hash_salt) in deny.read_text()
