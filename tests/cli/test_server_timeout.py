"""The CLI gives a temporary Prefect server 120 s to start (Prefect's 20 s was measured too short under load)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_READ = "import cli.dataset; from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as s; print(s.value())"


def _timeout(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"}
    done = subprocess.run([sys.executable, "-c", _READ], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_cli_waits_longer_for_a_temporary_server_unless_told_otherwise() -> None:
    assert _timeout() == "120"
    assert _timeout(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="33") == "33"
