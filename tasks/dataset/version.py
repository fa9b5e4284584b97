"""DVC edges: the ``build_dataset`` stage definition and pushing outputs to a remote (retried only
when the failure is transient).

The stage is rendered from the params (paths written once, in ``params.yaml``); ``dvc.yaml`` holds
its rendering and a test keeps the two equal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas.params import DatasetParams

STAGE = "build_dataset"
METRICS_FILE = "data/metrics/dataset.json"
"""The stage's metrics: the build's counts as ``build-dataset --json`` prints them (``dvc metrics show``)."""
ENTRY_MODULE = "cli.dataset"
"""What the stage runs (``python -m cli.dataset``: the dataset commands alone). Its code deps are every
project file this module can import, found by ``tools.dvc_deps.reachable_files`` (files, not folders:
``__pycache__`` written during a run would otherwise change a folder dep and make the next ``dvc repro``
rerun); a test keeps ``dvc.yaml`` equal to that walk."""


class DvcError(RuntimeError):
    """A DVC command failed in a way a retry cannot fix (no or unknown remote, refused credentials,
    missing files or cache, a bad path): raised as is, never retried."""


class TransientDvcError(DvcError):
    """A DVC command failed in a way worth retrying: the remote was unreachable, timed out, or answered
    that it is overloaded or unavailable for now (HTTP 408, 429, 5xx)."""


_PERMANENT = re.compile(
    r"config file error|no remote specified|remote '[^']*' doesn't exist|does not exist|doesn't exist"
    r"|not a directory|no such file|permission denied|read-only file system|missing cache files"
    r"|unauthori[sz]ed|forbidden|authenticat|credential|access denied|\b(?:40[0-7]|409|41\d|42[0-8]), message=",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"cannot connect to host|connect call failed|connection refused|connection reset|connection aborted"
    r"|server disconnected|broken pipe|network is unreachable|no route to host|temporary failure in name resolution"
    r"|timed out|timeout|temporarily unavailable|too many requests|slow ?down|throttl"
    r"|\b(?:408|429|5\d\d), message=",
    re.IGNORECASE,
)


def classify_dvc_failure(output: str) -> type[DvcError]:
    """``TransientDvcError`` when DVC's output names only network or remote-availability trouble, else
    ``DvcError``: an unknown failure is not retried, and a permanent cause wins over a transient one."""
    if _PERMANENT.search(output) or not _TRANSIENT.search(output):
        return DvcError
    return TransientDvcError


def _reason(output: str) -> str:
    """The lines of DVC's output that say what failed (its ERROR and WARNING lines), or its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = [line for line in lines if line.startswith(("ERROR", "WARNING"))]
    return " | ".join(said or lines[-1:]) or "dvc failed without output"


def dvc_stage(params: DatasetParams, code: list[str]) -> dict[str, Any]:
    """The ``build_dataset`` stage of ``dvc.yaml`` for these params and code files (``code``: what
    ``tools.dvc_deps.reachable_files(root, ENTRY_MODULE)`` finds).

    With decontamination on, the evaluation sets it reads are deps too: the regression root (a folder
    holding the ``build_regression`` stage's output, so DVC runs that stage first and rebuilds the
    dataset when a set changes) and the retrieval evaluation files.
    """
    metrics_dir = Path(METRICS_FILE).parent.as_posix()
    decontaminate = params.decontaminate
    evaluation = [decontaminate.regression_root, *decontaminate.retrieval_sets] if decontaminate.enabled else []
    return {
        "cmd": f"mkdir -p {metrics_dir} && python -m {ENTRY_MODULE} build-dataset --json > {METRICS_FILE}",
        "deps": [params.logs_dir, params.forget.deny_list, *evaluation, *code],
        "params": ["dataset"],
        "outs": [f"{params.out_root}/{name}" for name in params.dataset_names()],
        "metrics": [{METRICS_FILE: {"cache": False}}],
    }


def inside_dvc_stage() -> bool:
    """True when this process runs as a DVC stage command (``dvc repro`` sets ``DVC_STAGE``)."""
    return "DVC_STAGE" in os.environ


def _dvc(args: list[str], cwd: Path) -> str:
    """Run ``dvc ARGS`` in ``cwd``; raise ``TransientDvcError`` or ``DvcError`` (see ``classify_dvc_failure``).

    ``dvc push`` exits 0 when cache files it should send are missing (it only warns): that is a
    failure here, a permanent one.
    """
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True)
    output = f"{result.stdout}\n{result.stderr}"
    if result.returncode != 0 or "missing cache files" in output.lower():
        error = classify_dvc_failure(output)
        raise error(f"dvc {' '.join(args)} (exit {result.returncode}): {_reason(output)}")
    return result.stdout


def push(repo_root: Path, remote: str | None) -> None:
    """Push the stage's committed outputs to ``remote`` (None: the default remote)."""
    _dvc(["push", STAGE, *(["-r", remote] if remote else [])], repo_root)


def commit_and_push(repo_root: Path, remote: str | None) -> None:
    """Record the stage's outputs in ``dvc.lock`` and push them to the remote."""
    _dvc(["commit", "--force", STAGE], repo_root)
    push(repo_root, remote)
