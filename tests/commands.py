"""Running git and DVC as the tests' real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DVC = [sys.executable, "-m", "dvc"]


def run_ok(args: list[str], cwd: Path) -> str:
    """Run a command in ``cwd`` (DVC analytics off); fail the test with its output unless it exits 0."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
