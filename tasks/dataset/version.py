"""DVC edges: the ``build_dataset`` stage definition and pushing outputs to a remote.

The stage is rendered from the params (paths written once, in ``params.yaml``); ``dvc.yaml`` holds
its rendering and a test keeps the two equal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas.params import DatasetParams

STAGE = "build_dataset"
METRICS_FILE = "data/metrics/dataset.json"
"""The stage's metrics: the build's counts as ``build-dataset --json`` prints them (``dvc metrics show``)."""
CODE_FILES = [
    "flows/build_dataset.py",
    "cli/dataset.py",
    "cli/options.py",
    "schemas/dataset.py",
    "schemas/logs.py",
    "schemas/params.py",
    "schemas/timing.py",
    "tasks/common/accounting.py",
    "tasks/common/clock.py",
    "tasks/common/models.py",
    "tasks/common/jsonl.py",
    "tasks/common/runners.py",
    "tasks/pii/fields.py",
    "tasks/pii/redact.py",
    "tools/synthetic_logs.py",
]
"""Code the stage depends on besides ``tasks/dataset/*.py`` (files, not folders: ``__pycache__``
written during a run would otherwise change a folder dep and make the next ``dvc repro`` rerun)."""


def code_deps(root: Path) -> list[str]:
    """The stage's code dependencies under ``root``, sorted."""
    modules = sorted(p.relative_to(root).as_posix() for p in (root / "tasks" / "dataset").glob("*.py"))
    return sorted([*CODE_FILES, *modules])


class TransientDvcError(RuntimeError):
    """A DVC command failed in a way worth retrying (remote or network I/O)."""


def dvc_stage(params: DatasetParams, code: list[str]) -> dict[str, Any]:
    """The ``build_dataset`` stage of ``dvc.yaml`` for these params and code files."""
    metrics_dir = Path(METRICS_FILE).parent.as_posix()
    return {
        "cmd": f"mkdir -p {metrics_dir} && python -m cli.dataset build-dataset --json > {METRICS_FILE}",
        "deps": [params.logs_dir, params.forget.deny_list, *code],
        "params": ["dataset"],
        "outs": [f"{params.out_root}/{params.name}"],
        "metrics": [{METRICS_FILE: {"cache": False}}],
    }


def inside_dvc_stage() -> bool:
    """True when this process runs as a DVC stage command (``dvc repro`` sets ``DVC_STAGE``)."""
    return "DVC_STAGE" in os.environ


def _dvc(args: list[str], cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["dvc failed"]
        raise TransientDvcError(f"dvc {' '.join(args)}: {message[0]}")
    return result.stdout


def commit_and_push(repo_root: Path, remote: str | None) -> None:
    """Record the stage's outputs in ``dvc.lock`` and push them to the remote."""
    _dvc(["commit", "--force", STAGE], repo_root)
    _dvc(["push", STAGE, *(["-r", remote] if remote else [])], repo_root)
