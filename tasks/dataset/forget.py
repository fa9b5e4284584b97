"""Forgetting a user, the dataset side: a deny-list of salted user hashes, and the versions that contained them.

``tributary forget`` (``tasks/forget.py``) runs this first, then reaches the pool, the caches, the
regression sets and the DVC history; see ``docs/forget.md``.

The deny-list holds hashes, never raw ids. Every build excludes the users on it (counted as
``filtered`` / ``forgotten_user``). Every build also records the user hashes of the examples it
wrote in a small registry beside the datasets (``<out_root>/_versions/<name>/<version>.json``,
not tracked by DVC), so ``forget`` can list every version that contained a user even after the
dataset folder was rebuilt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tasks.dataset.select import user_hash

REGISTRY = "_versions"


def read_deny_list(path: Path) -> frozenset[str]:
    """The user hashes on the deny-list (empty when the file is missing); ``#`` starts a comment."""
    if not path.exists():
        return frozenset()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line)


def add_to_deny_list(path: Path, hashed: str) -> bool:
    """Append a user hash unless present; True when added."""
    if hashed in read_deny_list(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(hashed + "\n")
    return True


def record_version(out_root: Path, name: str, version: str, user_hashes: list[str]) -> Path:
    """Write the registry entry of a build (idempotent)."""
    path = out_root / REGISTRY / name / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "version": version, "user_hashes": user_hashes}) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class ForgetOutcome:
    """What ``forget`` did and found."""

    user_hash: str
    added: bool
    versions: list[dict[str, str]]


def versions_containing(out_root: Path, hashed: str) -> list[dict[str, str]]:
    """Dataset versions (registry entries and current manifests) whose examples include the user."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(out_root.glob(f"{REGISTRY}/*/*.json")) + sorted(out_root.glob("*/manifest.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        if hashed in entry.get("user_hashes", []):
            found[(entry["name"], entry["version"])] = {"name": entry["name"], "version": entry["version"]}
    return sorted(found.values(), key=lambda v: (v["name"], v["version"]))


def forget_user(user_id: str, deny_list: Path, out_root: Path, salt: str) -> ForgetOutcome:
    """Put a user on the deny-list and list the dataset versions that contained them.

    Args:
        user_id: The raw user id (only its salted hash is stored).
        deny_list: The deny-list file.
        out_root: Folder of the datasets (and of the version registry).
        salt: Salt of the user hash.

    Returns:
        The hash, whether it was newly added, and the versions that contained the user.
    """
    hashed = user_hash(user_id, salt)
    added = add_to_deny_list(deny_list, hashed)
    return ForgetOutcome(user_hash=hashed, added=added, versions=versions_containing(out_root, hashed))
