"""Corpus manifests on disk: publish atomically, read back, diff.

Layout under a table's manifest folder: ``<version>.json`` per published version, plus two
pointer files: ``LATEST`` (the newest published version, parent of the next run) and
``CURRENT`` (what search serves by default; a quality gate may hold it back).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from schemas.corpus import CorpusDiff, CorpusManifest, ManifestDocument
from schemas.params import IndexParams

LATEST = "LATEST"
CURRENT = "CURRENT"
_AUTO_NAME = re.compile(r"^v(\d+)$")


class VersionNotFound(LookupError):
    """A corpus version that was never published (or was removed)."""


def manifest_root(index: IndexParams) -> Path:
    """Folder holding this table's manifests.

    Explicit ``manifest_dir`` wins; a local database keeps them inside its own folder
    (``<db>/corpus-versions/<table>``, ignored by LanceDB) so they travel with the tables they
    describe; a remote database uses ``data/corpus/<table>``.
    """
    if index.manifest_dir:
        return Path(index.manifest_dir) / index.table
    if "://" not in index.db:
        return Path(index.db) / "corpus-versions" / index.table
    return Path("data/corpus") / index.table


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so readers see the old or the new content, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_pointer(root: Path, name: str) -> str | None:
    """The version a pointer file names, or None before the first publish."""
    path = root / name
    return path.read_text(encoding="utf-8").strip() or None if path.exists() else None


def read_manifest(root: Path, version: str) -> CorpusManifest:
    """Load one published manifest.

    Raises:
        VersionNotFound: when no manifest of that name exists.
    """
    path = root / f"{version}.json"
    if not path.exists():
        raise VersionNotFound(f"corpus version {version!r} not found under {root}")
    return CorpusManifest.model_validate_json(path.read_text(encoding="utf-8"))


def latest_manifest(root: Path) -> CorpusManifest | None:
    """The newest published manifest, parent of the next run."""
    version = read_pointer(root, LATEST)
    return read_manifest(root, version) if version else None


def resolve_version(root: Path, version: str | None) -> str:
    """The requested version, or CURRENT when none is given.

    Raises:
        VersionNotFound: when nothing was published yet.
    """
    chosen = version or read_pointer(root, CURRENT)
    if not chosen:
        raise VersionNotFound(f"no published corpus version under {root}: run `tributary ingest` first")
    return chosen


def list_manifests(root: Path) -> list[CorpusManifest]:
    """Every published manifest, oldest first: the chain of parents from LATEST.

    A manifest file written by a run that died before moving LATEST is not part of the chain,
    so it is never listed (and the next run overwrites it).
    """
    chain, version = [], read_pointer(root, LATEST)
    while version is not None:
        manifest = read_manifest(root, version)
        chain.append(manifest)
        version = manifest.parent_version
    return chain[::-1]


def next_version_name(root: Path, parent: CorpusManifest | None, requested: str | None) -> str:
    """``requested``, else v1, v2, ... following the parent's number.

    Raises:
        ValueError: when ``requested`` is already a published version (versions are immutable).
    """
    if requested:
        if (root / f"{requested}.json").exists():
            raise ValueError(f"corpus version {requested!r} is already published; pick another name")
        return requested
    if parent is None:
        return "v1"
    match = _AUTO_NAME.match(parent.version)
    return f"v{int(match.group(1)) + 1}" if match else f"{parent.version}.1"


def publish_manifest(root: Path, manifest: CorpusManifest, *, move_current: bool = True) -> None:
    """Write the manifest, then move LATEST (and CURRENT) to it: the version is published only then."""
    atomic_write_text(root / f"{manifest.version}.json", manifest.model_dump_json(indent=2))
    atomic_write_text(root / LATEST, manifest.version + "\n")
    if move_current:
        atomic_write_text(root / CURRENT, manifest.version + "\n")


def diff_documents(
    old: dict[str, ManifestDocument], new: dict[str, ManifestDocument], from_version: str | None, to_version: str
) -> CorpusDiff:
    """Added, changed (other bytes or other chunks) and removed document ids between two document maps."""
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(doc for doc in set(old) & set(new) if old[doc] != new[doc])
    return CorpusDiff(from_version=from_version, to_version=to_version, added=tuple(added), changed=tuple(changed), removed=tuple(removed))


def diff_versions(root: Path, from_version: str, to_version: str) -> CorpusDiff:
    """Diff two published versions (any two, not only parent and child)."""
    old, new = read_manifest(root, from_version), read_manifest(root, to_version)
    return diff_documents(old.documents, new.documents, from_version, to_version)
