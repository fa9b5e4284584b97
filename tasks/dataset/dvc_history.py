"""The DVC versions that still hold a user, and purging their objects from the DVC cache and remote.

A DVC *version* is an output as ``dvc.lock`` or a ``.dvc`` file records it, at some git commit or in
the workspace: a path and an md5 (``<md5>.dir`` for a folder, whose listing of ``relpath -> md5`` is
itself an object). The history is walked with git (every commit, on every branch, that touched a
``dvc.lock`` or a ``.dvc`` file, plus the workspace), and each distinct (path, md5) is read from the
local DVC cache, else from the remote:

- a folder whose ``manifest.json`` lists ``user_hashes`` (a dataset version) holds the user when the
  hash is listed there;
- any other folder or file (a regression set, ...) holds the user when one of its ``.jsonl`` files
  names the hash (regression cases carry ``user_hash``).

Purging deletes, from the local cache and the remote, every object of the versions that hold the
user that no version without the user also uses (objects are content-addressed and shared across
versions: what a clean version still needs is kept). It is not ``dvc gc``: that keeps whatever a
commit references, and these commits reference exactly the objects to remove. The git history keeps
naming the md5s; checking such a commit out afterwards reports the objects missing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

WORKSPACE = "workspace"
"""The revision name of what the working tree's ``dvc.lock`` and ``.dvc`` files record."""
LEGACY = "md5-dos2unix"
"""The hash name of objects from DVC 2 (an out without ``hash: md5``), kept in the legacy cache layout."""


@dataclass(frozen=True)
class RecordedOut:
    """One output as a dvc.lock or .dvc file records it: repo-relative path, md5 and hash name."""

    path: str
    md5: str
    hash_name: str


@dataclass
class DvcVersion:
    """A distinct (path, md5) of the history, the revisions that record it and what it holds."""

    path: str
    md5: str
    hash_name: str
    revisions: list[str] = field(default_factory=list)
    name: str | None = None
    version: str | None = None
    objects: set[str] = field(default_factory=set)
    readable: bool = True

    def report(self) -> dict[str, Any]:
        """The version as ``forget`` lists it."""
        return {"path": self.path, "md5": self.md5, "name": self.name, "version": self.version,
                "revisions": self.revisions, "objects": len(self.objects)}


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return result.stdout


def _is_dvc_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name == "dvc.lock" or name.endswith(".dvc")


def outs_of(text: str, file_path: str) -> list[RecordedOut]:
    """The outputs a ``dvc.lock`` (every stage) or ``.dvc`` file records, paths made repo-relative."""
    document = yaml.safe_load(text) or {}
    base = PurePosixPath(file_path).parent
    if PurePosixPath(file_path).name == "dvc.lock":
        entries = [out for stage in (document.get("stages") or {}).values() for out in stage.get("outs") or []]
    else:
        entries = document.get("outs") or []
    return [
        RecordedOut(path=(base / out["path"]).as_posix(), md5=str(out["md5"]), hash_name=out.get("hash") or LEGACY)
        for out in entries if out.get("md5") and out.get("path")
    ]


def _in_git(root: Path) -> bool:
    try:
        _git(root, "rev-parse", "--git-dir")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    return True


def recorded_outs(root: Path) -> Iterator[tuple[str, RecordedOut]]:
    """``(revision, out)`` for every out of every commit (all refs) that touched a DVC file, then the workspace."""
    in_git = _in_git(root)
    commits = _git(root, "log", "--all", "--format=%H", "--", "*dvc.lock", "*.dvc").split() if in_git else []
    for commit in commits:
        for file_path in _git(root, "ls-tree", "-r", "--name-only", commit).splitlines():
            if _is_dvc_file(file_path):
                for out in outs_of(_git(root, "show", f"{commit}:{file_path}"), file_path):
                    yield commit[:12], out
    if in_git:
        listed = _git(root, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    else:
        listed = [path.relative_to(root).as_posix() for path in root.rglob("*")]
    for relative in sorted(set(listed)):
        path = root / relative
        if _is_dvc_file(relative) and not relative.startswith(".dvc/") and path.is_file():
            for out in outs_of(path.read_text(encoding="utf-8"), relative):
                yield WORKSPACE, out


def _open_repo(root: Path):
    from dvc.repo import Repo

    return Repo(str(root))


class ObjectStores:
    """The local DVC cache and (when configured) the remote, by hash name; reads an object from either."""

    def __init__(self, repo, remote: str | None) -> None:
        """The cache of ``repo`` and the remote ``remote`` (None: the default remote; none configured: no remote)."""
        from dvc.config import NoRemoteError

        self.cache = {"md5": repo.cache.local, LEGACY: repo.cache.legacy}
        try:
            self.remote = {name: repo.cloud.get_remote_odb(remote, "forget", hash_name=name) for name in ("md5", LEGACY)}
            self.remote_name = remote or repo.config["core"].get("remote")
        except NoRemoteError:
            self.remote, self.remote_name = {}, None

    def read(self, oid: str, hash_name: str) -> bytes | None:
        """The object's bytes from the cache, else the remote; None when neither has it."""
        for stores in (self.cache, self.remote):
            odb = stores.get(hash_name)
            if odb is not None and odb.exists(oid):
                return odb.fs.cat_file(odb.oid_to_path(oid))
        return None

    def delete(self, oid: str, hash_name: str) -> tuple[int, int]:
        """Delete the object from the cache and the remote; ``(from cache, from remote)``, 0 or 1 each."""
        deleted = []
        for stores in (self.cache, self.remote):
            odb = stores.get(hash_name)
            present = odb is not None and odb.exists(oid)
            if present:
                odb.delete(oid)
            deleted.append(int(present))
        return deleted[0], deleted[1]


def _names(data: bytes, hashed: str) -> bool:
    return hashed.encode() in data


def inspect(version: DvcVersion, stores: ObjectStores, hashed: str) -> bool:
    """Fill in the version's objects, name and version; True when it holds the user (see the module doc)."""
    if not version.md5.endswith(".dir"):
        version.objects = {version.md5}
        data = stores.read(version.md5, version.hash_name)
        version.readable = data is not None
        return bool(data is not None and version.path.endswith((".jsonl", ".json")) and _names(data, hashed))
    listing = stores.read(version.md5, version.hash_name)
    if listing is None:
        version.readable, version.objects = False, {version.md5}
        return False
    files = {entry["relpath"]: entry["md5"] for entry in json.loads(listing)}
    version.objects = {version.md5, *files.values()}
    raw = stores.read(files["manifest.json"], version.hash_name) if "manifest.json" in files else b"{}"
    version.readable = raw is not None
    manifest = json.loads(raw or b"{}")
    version.name, version.version = manifest.get("name"), manifest.get("version")
    if isinstance(manifest.get("user_hashes"), list):
        return hashed in manifest["user_hashes"]
    for relpath, md5 in files.items():
        if relpath.endswith(".jsonl"):
            data = stores.read(md5, version.hash_name)
            version.readable &= data is not None
            if data is not None and _names(data, hashed):
                return True
    return False


@dataclass
class DvcFindings:
    """The versions of the history that hold a user, the others, and what purging them removed."""

    holding: list[DvcVersion]
    clean: list[DvcVersion]
    unreadable: int
    remote: str | None
    purged: dict[str, int] | None = None

    def doomed_objects(self) -> set[tuple[str, str]]:
        """``(hash name, oid)`` of every object of a holding version that no clean version uses."""
        keep = {(v.hash_name, oid) for v in self.clean for oid in v.objects}
        return {(v.hash_name, oid) for v in self.holding for oid in v.objects} - keep


def _versions(outs: Iterable[tuple[str, RecordedOut]]) -> list[DvcVersion]:
    found: dict[tuple[str, str], DvcVersion] = {}
    for revision, out in outs:
        version = found.setdefault((out.path, out.md5), DvcVersion(out.path, out.md5, out.hash_name))
        if revision not in version.revisions:
            version.revisions.append(revision)
    return list(found.values())


def find_versions(root: Path, hashed: str, remote: str | None = None) -> DvcFindings:
    """Every DVC version of the repo at ``root``, split into those that hold the user and the others.

    Args:
        root: The git + DVC repository.
        hashed: The salted user hash.
        remote: The DVC remote to read from when the cache lacks an object (None: the default remote, if any).

    Returns:
        The holding and clean versions, how many clean ones could not be read (neither the cache nor the
        remote has their objects), and the remote's name.
    """
    with _open_repo(root) as repo:
        stores = ObjectStores(repo, remote)
        holding, clean = [], []
        for version in _versions(recorded_outs(root)):
            (holding if inspect(version, stores, hashed) else clean).append(version)
    return DvcFindings(holding=holding, clean=clean, unreadable=sum(not v.readable for v in clean),
                       remote=stores.remote_name)


def purge(root: Path, findings: DvcFindings, remote: str | None = None) -> dict[str, int]:
    """Delete ``findings.doomed_objects()`` from the local cache and the remote; the counts deleted from each.

    A second call deletes nothing (the objects are gone); an object already missing is skipped.
    """
    cache = from_remote = 0
    with _open_repo(root) as repo:
        stores = ObjectStores(repo, remote)
        for hash_name, oid in sorted(findings.doomed_objects()):
            deleted = stores.delete(oid, hash_name)
            cache, from_remote = cache + deleted[0], from_remote + deleted[1]
    findings.purged = {"cache": cache, "remote": from_remote}
    return findings.purged
