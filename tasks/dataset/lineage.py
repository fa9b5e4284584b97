"""Lineage: from an example (or a request) back to its raw log line, its pool row and every dataset version holding it.

Every build writes the sorted example ids of each version it publishes beside the forget
registry (``<out_root>/_versions/<name>/<version>.examples``, one id a line, not tracked by DVC),
so a version stays findable after its folder was rebuilt.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tasks.dataset.forget import REGISTRY
from tasks.dataset.pool import find_rows
from tasks.dataset.read import RawLine, iter_raw_lines


def record_examples(out_root: Path, name: str, version: str, example_ids: list[str]) -> Path:
    """Write the example ids of a published version (sorted, one a line; idempotent)."""
    path = out_root / REGISTRY / name / f"{version}.examples"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{e}\n" for e in sorted(set(example_ids))), encoding="utf-8")
    return path


def versions_holding(out_root: Path, example_id: str) -> list[dict[str, str]]:
    """Dataset versions whose examples include ``example_id``, from the registry."""
    found = []
    for path in sorted(out_root.glob(f"{REGISTRY}/*/*.examples")):
        with path.open(encoding="utf-8") as handle:
            if any(line.rstrip("\n") == example_id for line in handle):
                found.append({"name": path.parent.name, "version": path.name.removesuffix(".examples")})
    return found


def raw_line(logs_dir: Path, source: str, line: int) -> str | None:
    """The raw log line at ``source:line`` under ``logs_dir``, or None when the file or line is gone."""
    path = logs_dir / source
    if not path.is_file():
        return None
    for raw in itertools.islice(iter_raw_lines(path, logs_dir), line - 1, line):
        return raw.text.rstrip("\r\n") if isinstance(raw, RawLine) else None
    return None


def lineage(
    pool_uri: Path, out_root: Path, logs_dir: Path, example_id: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """Everything known of an example or a request: the pool rows, each raw line, the versions holding it.

    Returns:
        ``{"rows": [...], "raw": [...], "versions": [...]}``: the pool rows (every fingerprint,
        signature and shingle hashes left out, the example parsed), the raw line of each row's first occurrence
        (``present`` False once the log is gone) and the dataset versions holding each example id.
    """
    import json

    rows = find_rows(pool_uri, example_id=example_id, request_id=request_id)
    shown, raws, versions, seen = [], [], [], set()
    for row in rows:
        record = {k: v for k, v in row.items() if k not in ("signature", "shingles", "line_hash")}
        record["line_hash"] = row["line_hash"].hex()
        record["timestamp"] = row["timestamp"].isoformat() if row["timestamp"] else None
        for key in ("example", "reject"):
            record[key] = json.loads(row[key]) if row[key] else None
        shown.append(record)
        where = (row["source"], row["line"])
        if where not in seen:
            seen.add(where)
            content = raw_line(logs_dir, *where)
            raws.append({"source": where[0], "line": where[1], "present": content is not None, "content": content})
    for eid in sorted({row["example_id"] for row in rows if row["example_id"]} | ({example_id} if example_id else set())):
        versions.extend({"example_id": eid, **v} for v in versions_holding(out_root, eid))
    return {"rows": shown, "raw": raws, "versions": versions}
