"""Structured logs: ``tributary --log-json`` prints one JSON object a line, with our fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.synthetic_logs import generate_logs, write_logs

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
ROOT = Path(__file__).resolve().parents[2]


def test_log_json_prints_json_records_with_stage_fields(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    write_logs(generate_logs(40, seed=4), tmp_path / "logs", files=1)
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable, "-m", "cli.app", "--log-json", "build-dataset",
        "--logs", str(tmp_path / "logs"), "--name", "logs", "--out", str(tmp_path / "out"), "--runner", "threads",
        "--pool", str(tmp_path / "pool"),  # a fresh pool: the repository's would serve every line (no redact stage)
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ours = [r for r in records if r.get("event")]
    stages = {r["stage"]: r for r in ours if r["event"] == "stage"}
    assert {"parse", "validate", "redact", "minhash", "write"} <= set(stages)
    assert stages["redact"]["items"] > 0 and stages["redact"]["seconds"] > 0 and stages["redact"]["flow_run_id"]
    counts = {r["stage"]: r for r in ours if r["event"] == "stage_counts"}
    assert counts["read"]["total"] == 40 and counts["dedupe"]["kept"] >= 1
    assert all(r["levelname"] in {"INFO", "WARNING", "ERROR"} for r in ours)
