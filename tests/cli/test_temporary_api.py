"""`tributary ingest` without a configured Prefect API: its own temporary server, started before the flow's
imports, records the run where Prefect's would (the database under PREFECT_HOME), keeps the run's logs,
and is gone when the command exits."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.common.flow_api import ApiStartError, TemporaryApi
from tests.documents import write_mixed_corpus

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def uvicorn_processes_of(prefect_home: Path) -> list[int]:
    """Live uvicorn processes whose environment names ``prefect_home`` (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes()
            environment = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"uvicorn" in command and f"PREFECT_HOME={prefect_home}".encode() in environment.split(b"\0"):
            found.append(int(proc.name))
    return found


def test_ingest_records_its_flow_run_and_logs_through_its_own_server_and_leaves_none_running(tmp_path):
    source, db, home = tmp_path / "docs", tmp_path / "lancedb", tmp_path / "prefect"
    write_mixed_corpus(source)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    env |= {"PREFECT_HOME": str(home), "PYTHONPATH": str(REPO), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = subprocess.run([sys.executable, "-m", "cli.app", "ingest", str(source), "--db", str(db), "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["published"]
    with sqlite3.connect(home / "prefect.db") as database:
        runs = database.execute(
            "select flow_run.id, flow_run.state_type from flow_run join flow on flow.id = flow_run.flow_id where flow.name = 'ingest'"
        ).fetchall()
        assert [state for _, state in runs] == ["COMPLETED"]
        logs = database.execute("select message from log where flow_run_id = ?", (runs[0][0],)).fetchall()
    assert any("documents:" in message for (message,) in logs)  # the plan's log line, sent before the server stopped
    assert uvicorn_processes_of(home) == []


def test_a_server_that_never_answers_is_stopped_and_named_in_the_error(monkeypatch):
    api = TemporaryApi()
    monkeypatch.setattr("tasks.common.flow_api._launch", lambda port: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
    api.start()
    process = api.process
    with pytest.raises(ApiStartError, match=f"port {api.port} did not answer within 1 s"):
        api.ready(timeout=1)
    assert process.poll() is not None and api.process is None
