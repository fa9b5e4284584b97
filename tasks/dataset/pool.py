"""The example pool: every log line processed once (parse, validate, redact, sign), reused by every build.

A pool is a folder of immutable parquet part files (``parts/part-<hash>.parquet``, schema
``schemas.pool.POOL_SCHEMA``), one row per distinct processed line, keyed by the sha256 of the raw
line and the processing fingerprints (``fingerprints``). A build looks each line up; only the
lines without a row under the current fingerprints are processed, and their rows are appended as
a new part. A changed setting changes a fingerprint, so exactly the rows it affects miss: a
redaction change re-processes the redacted (``ok``) rows and reuses the malformed and invalid
ones, whose outcome does not depend on redaction.

Crash safety: a part is written to a temporary file, fsynced and renamed into place, so a reader
sees it whole or not at all; a SIGKILL leaves the pool as it was plus whole parts (a leftover
temporary file is deleted by the next writer). Rows are a deterministic function of the line and
the settings, so the next run re-processes what was lost and converges to a clean run's pool.
Writers hold the pool's lock (the ingest's table lock, ``tasks.ingest.lock.table_lock``).

Embeddings (semantic dedupe): a redacted row holds the embedding of its dedupe text under ``embed_fp``
(``embed_fingerprint``: model name and weights), which is not part of the key. A row whose embedding is
missing or stale is reused as it is (nothing re-parsed or re-redacted), embedded, and written again in a
new part; a lookup prefers the copy under the current embedding fingerprint.

A looked-up row lacks ``shingles`` (most of a part's bytes; the pair store reads that column itself); a row
written again (re-embedded) has its shingles recomputed from its example, the same hashes under ``redact_fp``.

Memory: the index keeps 8 bytes a row (a 36-bit key prefix and the row's place, one uint64 in
numpy; full hashes are checked on fetch), and rows are read a part at a time. Nothing else grows with
the pool.

Choice of store (``bench/pool_store_choice.py``, ``docs/pool.md``): partitioned parquet over a
LanceDB table: within a factor of two on every access the build makes, and forgetting a user
rewrites one part file and deletes the old one, so the bytes are gone at once (a LanceDB delete
leaves them in older fragments until compaction and version cleanup).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import signal
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.dataset import ChatExample, Lineage, RejectedRecord
from schemas.params import DatasetParams, IndexParams
from schemas.pool import POOL_SCHEMA, POOL_SCHEMA_VERSION
from tasks.common.arrays import sorted_unique
from tasks.dataset.language import conversation_language
from tasks.dataset.read import RawLine
from tasks.dataset.select import SelectFields, user_hash

PARTS = "parts"
CRASH_ENV = "TRIBUTARY_POOL_CRASH"
"""Test hook: ``before-rename:N`` or ``after-rename:N`` SIGKILLs this process at the N-th part write."""
_CACHED_PARTS = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""``POOL_SCHEMA``'s timestamps count microseconds from it."""
_PREFIX_BITS, _LOCATION_BITS = 36, 28
"""The in-memory index packs a row into one uint64: 36 bits of its key (a false match, checked on fetch,
about once in 70,000 look-ups at a million rows) and its place among all parts' rows (28 bits)."""
_MAX_LOCATION = (1 << _LOCATION_BITS) - 1


def line_hash(text: str) -> bytes:
    """sha256 of a raw log line (its line ending left out): the pool's content key."""
    return hashlib.sha256(text.rstrip("\r\n").encode()).digest()


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Fingerprints:
    """The two processing fingerprints a row is made under."""

    validate: str
    """Pool schema version, validation settings, the salts of the stored hashes, the token counter."""
    redact: str
    """Redaction settings (what changes the output), the redactor's code, presidio and spaCy versions, MinHash settings."""
    embed: str | None = None
    """The embedding model (name and weights) and the compared text's settings; None when semantic dedupe is off."""


def fingerprints(params: DatasetParams) -> Fingerprints:
    """The fingerprints of ``params``: selection, split ratios, dedupe threshold and outputs are not in them."""
    from tasks.common.models import DEFAULT_MODEL
    from tasks.pii.version import SPACY_MODEL, redactor_fingerprint

    validate = _digest(
        {
            "pool_schema": POOL_SCHEMA_VERSION,
            "validation": params.validation.fingerprint(),
            "group": [params.split.group_key, params.split.salt],
            "user_salt": params.forget.user_hash_salt,
            "tokenizer": DEFAULT_MODEL,
        }
    )
    redact_settings = params.redact.model_dump(mode="json", exclude={"workers", "batch_size"})
    dedupe = params.dedupe
    redact = _digest(
        {
            "validate": validate,
            "redact": redact_settings,
            "presidio": _version("presidio_analyzer"),
            "redactor": redactor_fingerprint(),
            "spacy": _version("spacy"),
            "spacy_model": [SPACY_MODEL, _version(SPACY_MODEL)],
            "minhash": [dedupe.num_perm, dedupe.shingle_size, dedupe.include_system],
        }
    )
    return Fingerprints(validate=validate, redact=redact, embed=embed_fingerprint(params))


def embedding_model_name(params: DatasetParams) -> str:
    """The model that embeds pool rows: ``dedupe.embedding_model`` (the flow fills it from the ingest's)."""
    from tasks.common.models import DEFAULT_MODEL

    return params.dedupe.embedding_model or DEFAULT_MODEL


@functools.cache
def _embed_digest(model: str, include_system: bool) -> str:
    from tasks.common.models import model_fingerprint

    return _digest({"model": model, "weights": model_fingerprint(model, "cpu"), "include_system": include_system})


def embed_fingerprint(params: DatasetParams) -> str | None:
    """What a row's embedding depends on (model name and weights, system prompts in or out); None: semantic off.

    Not part of the row's key: a change re-embeds the rows it affects and never re-redacts them.
    """
    if "semantic" not in params.dedupe.methods:
        return None
    return _embed_digest(embedding_model_name(params), params.dedupe.include_system)


# --- rows: made from a line, read back as the records a build needs ---------------------------------


def _base_row(raw: RawLine, fps: Fingerprints, outcome: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(POOL_SCHEMA.names)
    row.update(line_hash=line_hash(raw.text), validate_fp=fps.validate, outcome=outcome, source=raw.source, line=raw.line)
    return row


def reject_row(raw: RawLine, fps: Fingerprints, record: RejectedRecord) -> dict[str, Any]:
    """The row of a line that is not a log (``malformed``) or not a valid one (``schema``)."""
    row = _base_row(raw, fps, "malformed" if record.kind == "malformed" else "schema")
    row["reject"] = record.model_dump_json(exclude_none=True)
    return row


def parsed_row(raw: RawLine, fps: Fingerprints, log: Any, example: ChatExample) -> dict[str, Any]:
    """A parsed line's row without its outcome yet: the fields selection reads."""
    row = _base_row(raw, fps, "ok")
    row.update(
        request_id=log.request_id,
        user_hash=example.user_hash,
        model=log.model,
        timestamp=log.timestamp,
        quality_score=log.automated_quality_score,
        user_feedback=log.user_feedback,
        category=example.category,
        language=example.language,
        prompt_template_id=log.prompt_template_id,
        prompt_template_version=log.prompt_template_version,
        system_prompt_hash=hashlib.sha256(log.system_prompt.encode()).hexdigest()[:16],
    )
    return row


def select_fields(row: dict[str, Any], language: bool = False) -> SelectFields:
    """What selection reads of a row (its language only with ``language``: a row may need classifying)."""
    return SelectFields(
        user_hash=row["user_hash"],
        model=row["model"],
        quality_score=row["quality_score"],
        user_feedback=row["user_feedback"],
        timestamp=row["timestamp"],
        category=row["category"],
        prompt_template_id=row["prompt_template_id"],
        language=_row_language(row) if language else row.get("language"),
    )


def _row_language(row: dict[str, Any]) -> str | None:
    """The row's language; a row written before the column existed is classified from its redacted example."""
    if row.get("language") is not None or row["outcome"] != "ok":
        return row.get("language")
    example = ChatExample.model_validate_json(row["example"])
    return conversation_language((m.role, m.content) for m in example.messages)


def row_reject(row: dict[str, Any], raw: RawLine) -> RejectedRecord:
    """The row's reject record, located at this occurrence."""
    return RejectedRecord.model_validate_json(row["reject"]).model_copy(update={"source": raw.source, "line": raw.line})


def row_example(row: dict[str, Any], raw: RawLine) -> ChatExample:
    """The row's redacted example, with this occurrence's lineage."""
    example = ChatExample.model_validate_json(row["example"])
    lineage = Lineage(request_id=example.lineage.request_id, source=raw.source, line=raw.line)
    return example.model_copy(update={"lineage": lineage})


def forgotten(log: Any, params: DatasetParams, deny_list: frozenset[str]) -> bool:
    """Whether the log's user is on the deny-list (such a line is never processed nor stored)."""
    return log.user_id is not None and user_hash(log.user_id, params.forget.user_hash_salt) in deny_list


# --- the store --------------------------------------------------------------------------------------


def _parts(root: Path) -> list[Path]:
    return sorted((root / PARTS).glob("part-*.parquet"))


def _key_prefixes(hashes: pa.Array) -> np.ndarray:
    """The first 8 bytes of each 32-byte hash, as uint64 (big-endian: the order of the bytes)."""
    hashes = hashes.combine_chunks() if isinstance(hashes, pa.ChunkedArray) else hashes
    data = np.frombuffer(hashes.buffers()[1], dtype=np.uint8)
    data = data[hashes.offset * 32 : (hashes.offset + len(hashes)) * 32].reshape(-1, 32)
    return data[:, :8].copy().view(">u8").ravel().astype(np.uint64)


def _prefixes_of(hashes: Sequence[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(h[:8] for h in hashes), dtype=">u8").astype(np.uint64)


@contextmanager
def pool_lock(uri: str | Path) -> Iterator[float]:
    """Hold the pool's write lock (the ingest's table lock on ``<pool>/lock``); yields the seconds waited."""
    from tasks.ingest.lock import table_lock

    with table_lock(IndexParams(db=str(uri), manifest_dir=str(uri), table="lock")) as waited:
        yield waited


def _crash_point(stage: str, counter: dict[str, int] = {}) -> None:  # noqa: B006 - a process-wide count
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    where, _, nth = spec.partition(":")
    if where != stage:
        return
    counter[stage] = counter.get(stage, 0) + 1
    if counter[stage] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def write_parquet_atomically(folder: Path, prefix: str, table: pa.Table, key_columns: Sequence[str],
                             crash_stage: str, **write_options) -> Path:
    """Write ``table`` as ``<prefix>-<digest of key_columns>.parquet`` in ``folder``: whole or absent after a crash.

    A temporary file (``.<name>.<pid>.tmp``), fsync, rename, fsync of the folder. ``crash_stage``
    names the test crash point before the rename (``CRASH_ENV``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for column in key_columns:
        digest.update(str(table[column].to_pylist()).encode())
    path = folder / f"{prefix}-{digest.hexdigest()[:24]}.parquet"
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    pq.write_table(table, temporary, compression="zstd", **write_options)
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    _crash_point(crash_stage)
    os.replace(temporary, path)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def _write_part(root: Path, table: pa.Table) -> Path:
    """Write ``table`` as a new part (a re-embedded row goes to another part: ``embed_fp`` is in its name)."""
    path = write_parquet_atomically(root / PARTS, "part", table, ("line_hash", "validate_fp", "redact_fp", "embed_fp"),
                                    "before-rename", row_group_size=max(table.num_rows, 1))
    _crash_point("after-rename")
    return path


def _remove_temporaries(root: Path) -> None:
    for leftover in (root / PARTS).glob(".part-*.tmp"):
        leftover.unlink(missing_ok=True)


class Pool:
    """An open pool under one pair of fingerprints: look lines up, fetch their rows, append new rows.

    Open it with ``Pool.open`` while holding ``pool_lock`` (a build holds it for its whole pool
    update, so two builds at once take turns and the second sees the first's rows).
    """

    def __init__(self, root: Path, fps: Fingerprints) -> None:
        self.root, self.fps = root, fps
        self.parts = _parts(root)
        prefixes, locations, starts, first = [], [], [], 0
        for path in self.parts:
            table = pq.read_table(path, columns=["line_hash", "validate_fp", "redact_fp"])
            current = pc.and_(
                pc.equal(table["validate_fp"], fps.validate),
                pc.fill_null(pc.equal(table["redact_fp"], fps.redact), True),
            )
            rows = np.flatnonzero(current.to_numpy(zero_copy_only=False))
            prefixes.append(_key_prefixes(table["line_hash"])[rows])
            locations.append(rows.astype(np.uint64) + np.uint64(first))
            starts.append(first)
            first += table.num_rows
        if first > _MAX_LOCATION:
            raise ValueError(f"pool {root} holds {first:,} rows: the index addresses at most {_MAX_LOCATION:,}")
        keys = np.concatenate(prefixes) if prefixes else np.zeros(0, dtype=np.uint64)
        self._rows = int(sorted_unique(keys).size)  # a key in two parts (after a crash) counts once
        # one uint64 a row: the key's first 36 bits, then the row's place among all parts (28 bits)
        packed = (keys >> np.uint64(64 - _PREFIX_BITS)) << np.uint64(_LOCATION_BITS)
        if locations:
            packed |= np.concatenate(locations)
        packed.sort()  # by key prefix, then place: of a key written twice, the earlier part's row is found first
        self._index = packed
        self._starts = np.asarray(starts, dtype=np.int64)
        self._cache: OrderedDict[int, pa.Table] = OrderedDict()
        self._added: set[bytes] = set()
        self.written = 0

    @classmethod
    def open(cls, uri: str | Path, params: DatasetParams) -> Pool:
        """The pool at ``uri`` under ``params``' fingerprints (created empty when missing)."""
        root = Path(uri)
        (root / PARTS).mkdir(parents=True, exist_ok=True)
        _remove_temporaries(root)
        return cls(root, fingerprints(params))

    def __len__(self) -> int:
        """Rows under the current fingerprints when opened (a key in two parts, after a crash, counts once)."""
        return self._rows

    def _part_table(self, n: int) -> pa.Table:
        """Part ``n`` without ``shingles`` (most of a part's bytes: only the pair store reads it), a few kept."""
        if n in self._cache:
            self._cache.move_to_end(n)
            return self._cache[n]
        columns = [name for name in pq.read_schema(self.parts[n]).names if name != "shingles"]
        table = pq.read_table(self.parts[n], columns=columns)
        self._cache[n] = table
        if len(self._cache) > _CACHED_PARTS:
            self._cache.popitem(last=False)
        return table

    def _rows_at(self, n: int, offsets: np.ndarray) -> list[dict[str, Any]]:
        """The rows at ``offsets`` of part ``n`` as dicts; only those rows are converted."""
        table = self._part_table(n).take(pa.array(offsets))
        vectors = [name for name in ("signature", "user_signature", "embedding") if name in table.column_names]
        stamp = table.schema.field("timestamp").type
        if not (pa.types.is_timestamp(stamp) and stamp.unit == "us"):  # the epoch arithmetic below counts microseconds
            raise ValueError(f"pool part {self.parts[n]} stores timestamps as {stamp}, not timestamp[us]")
        timestamps = table["timestamp"].cast(pa.int64()).to_pylist()
        rows = table.drop_columns([*vectors, "timestamp"]).to_pylist()
        for row, micros in zip(rows, timestamps, strict=True):  # 9x faster than pyarrow's zoned datetimes
            row["timestamp"] = None if micros is None else _EPOCH + timedelta(microseconds=micros)
        for name in vectors:
            column = table[name].combine_chunks()
            values, starts = column.values.to_numpy(), column.offsets.to_numpy()
            present = column.is_valid().to_numpy(zero_copy_only=False)
            for i, row in enumerate(rows):  # numpy views, not a Python number a value
                row[name] = values[starts[i] : starts[i + 1]] if present[i] else None
        return rows

    def rows_for(self, lines: Sequence[RawLine]) -> list[dict[str, Any] | None]:
        """Each line's row under the current fingerprints, or None (a miss: to be processed)."""
        if not lines:
            return []
        hashes = [line_hash(raw.text) for raw in lines]
        low = (_prefixes_of(hashes) >> np.uint64(64 - _PREFIX_BITS)) << np.uint64(_LOCATION_BITS)
        start = np.searchsorted(self._index, low, side="left")
        counts = np.searchsorted(self._index, low | np.uint64(_MAX_LOCATION), side="right") - start
        # every indexed row sharing a line's key prefix (a prefix shared by other lines: the full hash decides)
        owner = np.repeat(np.arange(len(lines)), counts)
        at = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(start, counts)
        places = (self._index[at] & np.uint64(_MAX_LOCATION)).astype(np.int64)
        parts = np.searchsorted(self._starts, places, side="right") - 1
        offsets = places - self._starts[parts]
        candidates: list[dict[str, Any] | None] = [None] * owner.size
        for n in np.unique(parts).tolist():  # each part read once a batch, only its wanted rows converted
            taking = np.flatnonzero(parts == n)
            for k, row in zip(taking.tolist(), self._rows_at(n, offsets[taking]), strict=True):
                candidates[k] = row
        found: list[dict[str, Any] | None] = [None] * len(lines)
        settled = [False] * len(lines)
        for k, i in enumerate(owner.tolist()):  # a line's candidates in place order: the earlier part's first
            candidate = candidates[k]
            if settled[i] or candidate is None or candidate["line_hash"] != hashes[i]:
                continue
            found[i] = found[i] or candidate
            if not self.needs_embedding(candidate):  # a re-embedded copy of the row wins
                found[i], settled[i] = candidate, True
        return found

    def may_hold(self, lines: Sequence[RawLine]) -> list[bool]:
        """Whether the pool may hold each line's row: its key prefix is indexed (no row is read).

        False is certain; a True of a line the pool lacks (a shared 36-bit prefix) is found out by ``rows_for``.
        """
        if not lines:
            return []
        low = (_prefixes_of([line_hash(raw.text) for raw in lines]) >> np.uint64(64 - _PREFIX_BITS)) << np.uint64(_LOCATION_BITS)
        start = np.searchsorted(self._index, low, side="left")
        end = np.searchsorted(self._index, low | np.uint64(_MAX_LOCATION), side="right")
        return (end > start).tolist()

    def needs_embedding(self, row: dict[str, Any]) -> bool:
        """Whether a redacted row lacks an embedding under the current embedding fingerprint."""
        return self.fps.embed is not None and row["outcome"] == "ok" and row.get("embed_fp") != self.fps.embed

    def append(self, rows: Sequence[dict[str, Any]]) -> int:
        """Write the rows not in the pool yet as one new part; returns how many were written."""
        fresh = []
        for row in rows:
            key = row["line_hash"]
            if key in self._added:
                continue
            self._added.add(key)
            fresh.append(row)
        if not fresh:
            return 0
        _write_part(self.root, pa.Table.from_pylist(fresh, schema=POOL_SCHEMA))
        self.written += len(fresh)
        return len(fresh)


def forget_user(pool_uri: str | Path, user_hash_value: str) -> int:
    """Remove every row of a user (by salted user hash) from the pool; returns the rows removed.

    Each part holding the user is rewritten without them (a new part, temp + rename) and only then
    deleted, under the pool's lock: a crash in between leaves both, and the rows of the old part
    are removed by the next call (idempotent: a second call removes 0). The pair store's pairs and
    compared marks of the user's examples are removed first (``tasks.dataset.pairs.forget_examples``).
    """
    from tasks.dataset.pairs import forget_examples

    root = Path(pool_uri)
    if not (root / PARTS).is_dir():
        return 0
    removed = 0
    with pool_lock(root):
        _remove_temporaries(root)
        examples: set[str] = set()
        holding: list[tuple[Path, pa.ChunkedArray, int]] = []  # the parts with the user's rows, their masks
        for path in _parts(root):
            users = pq.read_table(path, columns=["user_hash", "example_id"])
            hit = pc.fill_null(pc.equal(users["user_hash"], user_hash_value), False)
            count = pc.sum(hit).as_py() or 0
            if count:
                holding.append((path, hit, count))
                examples.update(e for e in users["example_id"].filter(hit).to_pylist() if e)
        forget_examples(root, examples)  # their pairs first: a crash here leaves rows, and the next call finds them
        for path, hit, count in holding:
            table = pq.read_table(path).filter(pc.invert(hit))
            if table.num_rows:
                kept = _write_part(root, table)
                if kept == path:  # the same rows and name: nothing left to delete
                    continue
            path.unlink()
            removed += count
    return removed


def pool_rows(pool_uri: str | Path) -> int:
    """Rows in the pool, every fingerprint (parquet footers only)."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in _parts(Path(pool_uri)))


def find_rows(pool_uri: str | Path, example_id: str | None = None, request_id: str | None = None) -> list[dict[str, Any]]:
    """Rows whose ``example_id`` or ``request_id`` is the one given (any fingerprint), for ``lineage``."""
    found: list[dict[str, Any]] = []
    for path in _parts(Path(pool_uri)):
        table = pq.read_table(path, columns=["example_id", "request_id"])
        mask = pc.fill_null(
            pc.or_(pc.equal(table["example_id"], example_id or ""), pc.equal(table["request_id"], request_id or "")),
            False,
        )
        if pc.any(mask).as_py():
            found.extend(pq.read_table(path).filter(mask).to_pylist())
    return found
