"""Pushing the dataset with real DVC: transient remote failures are retried, permanent ones fail at once.

Every remote is on this machine: local folders, or HTTP on 127.0.0.1 (a closed port, or a tiny server
that answers every request with one status code).
"""

from __future__ import annotations

import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.dataset.version import STAGE, DvcError, TransientDvcError, commit_and_push, push
from tests.commands import DVC, run_ok


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git + DVC repo whose ``build_dataset`` stage has a small output folder, not yet committed."""
    root = tmp_path / "repo"
    (root / "out").mkdir(parents=True)
    (root / "out" / "train.jsonl").write_text('{"messages": []}\n')
    (root / "out" / "manifest.json").write_text("{}\n")
    (root / "dvc.yaml").write_text(f"stages:\n  {STAGE}:\n    cmd: echo built\n    outs:\n    - out\n")
    run_ok(["git", "init", "-q"], root)
    run_ok([*DVC, "init", "-q"], root)
    return root


def _add_remote(repo: Path, name: str, url: str, default: bool = False) -> None:
    run_ok([*DVC, "remote", "add", *(["-d"] if default else []), name, url], repo)


@pytest.fixture()
def answering(request) -> Iterator[str]:
    """``http://127.0.0.1:PORT/store``: a loopback server answering every request with ``request.param``."""
    status = request.param

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = _answer

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/store"
    server.shutdown()
    server.server_close()


def test_push_to_a_local_remote_sends_the_outputs_even_into_a_folder_not_made_yet(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "not" / "made" / "yet"
    _add_remote(repo, "local", str(remote), default=True)
    commit_and_push(repo, None)
    assert (repo / "dvc.lock").exists()
    assert len([p for p in remote.rglob("*") if p.is_file()]) == 3  # two files and the folder's .dir listing


def test_no_remote_configured_is_permanent(repo: Path) -> None:
    with pytest.raises(DvcError, match="no remote specified") as raised:
        commit_and_push(repo, None)
    assert not isinstance(raised.value, TransientDvcError)


def test_an_unknown_remote_name_is_permanent(repo: Path, tmp_path: Path) -> None:
    _add_remote(repo, "local", str(tmp_path / "remote"), default=True)
    with pytest.raises(DvcError, match="remote 'typo' doesn't exist") as raised:
        commit_and_push(repo, "typo")
    assert not isinstance(raised.value, TransientDvcError)


def test_a_remote_path_under_a_regular_file_is_permanent(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    _add_remote(repo, "bad", str(tmp_path / "a-file" / "remote"))
    with pytest.raises(DvcError, match="Not a directory") as raised:
        commit_and_push(repo, "bad")
    assert not isinstance(raised.value, TransientDvcError)


def test_missing_outputs_are_permanent(repo: Path, tmp_path: Path) -> None:
    _add_remote(repo, "local", str(tmp_path / "remote"), default=True)
    shutil.rmtree(repo / "out")
    with pytest.raises(DvcError, match="output 'out' does not exist") as raised:
        commit_and_push(repo, None)
    assert not isinstance(raised.value, TransientDvcError)


def test_a_push_with_cache_files_missing_fails_although_dvc_exits_0(repo: Path, tmp_path: Path) -> None:
    """``dvc push`` only warns (exit 0, "Everything is up to date") when the cache lost the files."""
    remote = tmp_path / "remote"
    _add_remote(repo, "local", str(remote), default=True)
    run_ok([*DVC, "commit", "--force", STAGE], repo)
    shutil.rmtree(repo / ".dvc" / "cache")
    with pytest.raises(DvcError, match="Missing cache files") as raised:
        push(repo, None)
    assert not isinstance(raised.value, TransientDvcError)
    assert not any(p.is_file() for p in remote.rglob("*"))


def test_a_remote_nobody_listens_on_is_transient(repo: Path) -> None:
    _add_remote(repo, "down", f"http://127.0.0.1:{free_port()}/store")
    with pytest.raises(TransientDvcError, match="Cannot connect to host 127.0.0.1"):
        commit_and_push(repo, "down")


@pytest.mark.parametrize("answering", [503, 429], indirect=True)
def test_a_remote_answering_unavailable_or_slow_down_is_transient(repo: Path, answering: str) -> None:
    _add_remote(repo, "busy", answering)
    with pytest.raises(TransientDvcError, match=r"(503|429), message="):
        commit_and_push(repo, "busy")


@pytest.mark.parametrize("answering", [401, 403], indirect=True)
def test_a_remote_refusing_credentials_is_permanent(repo: Path, answering: str) -> None:
    _add_remote(repo, "locked", answering)
    with pytest.raises(DvcError, match=r"(401|403), message=") as raised:
        commit_and_push(repo, "locked")
    assert not isinstance(raised.value, TransientDvcError)


def _attempts(remote: str, repo: Path) -> tuple[str, int]:
    """Run the real ``push_dataset`` task (its retry policy, no delay) in a flow: final state, attempts."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    from tasks.dataset.prefect_tasks import push_dataset

    @flow
    def push_once() -> tuple[str, object]:
        state = push_dataset.with_options(retry_delay_seconds=0)(repo, remote, return_state=True)
        return state.type.value, state.state_details.task_run_id  # not the state: a failed one fails the flow

    final, task_run_id = push_once()
    with get_client(sync_client=True) as client:
        run = client.read_task_run(task_run_id)
    return final, run.run_count


@pytest.mark.slow
def test_the_push_task_retries_a_transient_failure_and_not_a_permanent_one(repo: Path, prefect_harness) -> None:
    _add_remote(repo, "down", f"http://127.0.0.1:{free_port()}/store")
    assert _attempts("down", repo) == ("FAILED", 4)  # the first try and push_dataset's 3 retries
    assert _attempts("typo", repo) == ("FAILED", 1)
