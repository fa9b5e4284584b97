"""The build's bounded-memory middle: redacted examples spooled to disk, a few facts each in memory.

Batches of log lines are prepared on the task runner (parse, select, validate, redact, exact key
and MinHash signature). Their redacted examples are appended to a spool file inside the build's
staging folder (never outside ``data/datasets/``, and never unredacted); memory keeps only what
dedupe, split, the report and the final sort need: ids, keys, signatures, ranks, groups,
categories, token counts and lineage, about 1 KB an example with 128 permutations (so it still
grows with the input, slowly: a disk-backed LSH would remove that). Embeddings (semantic dedupe
on, 1.5 KB an example with a 384-wide model) go to a second spool and are compared block by block. The final
pass reads the kept examples back from the spool by offset, in the order each file is written.
"""

from __future__ import annotations

import json
import mmap
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from schemas.dataset import ChatExample, Lineage, RejectedRecord
from tasks.common.accounting import RejectsWriter, merge_sorted_jsonl
from tasks.common.jsonl import loads
from tasks.dataset.decontaminate import user_text

STAGES = ("read", "schema", "select", "validate", "redact", "decontaminate", "dedupe", "user_cap")
"""The build's stages in order; each one's ``kept`` is the next one's ``total``."""


class BuildRejects:
    """The build's rejects, streamed as they come to three spool files in the staging folder.

    Each spool is in ``(source, line)`` order by construction: undecodable lines as the files are
    read, each batch's rejects (sorted within the batch) as batches are absorbed in input order,
    and the duplicates in store order. ``publish`` merges them into ``rejects.jsonl`` without
    holding them in memory.
    """

    def __init__(self, staging: Path) -> None:
        self.lines = RejectsWriter(staging / ".rejects-read.spool")
        self.batches = RejectsWriter(staging / ".rejects-batches.spool")
        self.duplicates = RejectsWriter(staging / ".rejects-dedupe.spool")
        self._writers = (self.lines, self.batches, self.duplicates)

    def __enter__(self) -> BuildRejects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def kinds(self) -> Counter[tuple[str, str]]:
        """``(kind, reason)`` -> records written so far."""
        total: Counter[tuple[str, str]] = Counter()
        for writer in self._writers:
            total.update(writer.kinds)
        return total

    def close(self) -> None:
        """Close the spools (kept on disk until ``publish`` or the staging folder's removal)."""
        for writer in self._writers:
            writer.close()

    def publish(self, folder: Path) -> int:
        """Write ``folder/rejects.jsonl`` in ``(source, line, stage)`` order and delete the spools."""
        self.close()
        paths = [w.path for w in self._writers]
        n = merge_sorted_jsonl(paths, folder / "rejects.jsonl", key=reject_order)
        for path in paths:
            path.unlink(missing_ok=True)
        return n


def reject_order(record: Mapping | RejectedRecord) -> tuple[str, int, str]:
    """The order of ``rejects.jsonl``: file, line, stage."""
    if isinstance(record, RejectedRecord):
        return (record.source, record.line, record.stage)
    return (record["source"], record["line"], record["stage"])


@dataclass(frozen=True, slots=True)
class ExampleRecord:
    """A redacted example as a build carries it: its JSON (what the spool holds) and what the build reads of it.

    A pool row's example JSON is taken as it is (``from_json``): re-validating and re-dumping a reused
    row through pydantic was a tenth of a rebuild's time. Both constructors give the same record for the
    same example (the JSON is ``ChatExample.model_dump_json``'s).
    """

    json: str
    example_id: str
    group_hash: str
    category: str
    token_count: int
    quality_score: float | None
    timestamp: float
    """POSIX seconds (the keep policy's "newest")."""
    source: str
    line: int
    request_id: str
    user_hash: str | None
    pii_counts: dict[str, int]

    @classmethod
    def of(cls, example: ChatExample) -> ExampleRecord:
        """The record of a parsed example."""
        lineage = example.lineage
        return cls(
            json=example.model_dump_json(), example_id=example.example_id, group_hash=example.group_hash,
            category=example.category, token_count=example.token_count or 0, quality_score=example.quality_score,
            timestamp=example.timestamp.timestamp(), source=lineage.source, line=lineage.line,
            request_id=lineage.request_id, user_hash=example.user_hash, pii_counts=example.pii_counts,
        )

    @classmethod
    def from_json(cls, text: str, source: str, line: int) -> ExampleRecord:
        """The record of an example's JSON, located at ``source:line`` (re-stamped through pydantic when elsewhere)."""
        data = loads(text)
        lineage = data["lineage"]
        if lineage["source"] != source or lineage["line"] != line:  # another occurrence of the line: new lineage
            example = ChatExample.model_validate_json(text)
            moved = Lineage(request_id=example.lineage.request_id, source=source, line=line)
            return cls.of(example.model_copy(update={"lineage": moved}))
        return cls(
            json=text, example_id=data["example_id"], group_hash=data["group_hash"],
            category=data["category"], token_count=data["token_count"] or 0, quality_score=data["quality_score"],
            timestamp=datetime.fromisoformat(data["timestamp"]).timestamp(), source=source, line=line,
            request_id=lineage["request_id"], user_hash=data["user_hash"], pii_counts=data["pii_counts"],
        )

    def example(self) -> ChatExample:
        """The example itself (parsed)."""
        return ChatExample.model_validate_json(self.json)

    def user_turns(self) -> str:
        """Its user turns, role-tagged (``decontaminate.user_text``)."""
        return user_text((m["role"], m.get("content")) for m in json.loads(self.json)["messages"])

    def rejected(self, stage: str, kind: str, reason: str) -> RejectedRecord:
        """The record of this example dropped by ``stage``."""
        return RejectedRecord(stage=stage, kind=kind, reason=reason, source=self.source, line=self.line,  # type: ignore[arg-type]
                              request_id=self.request_id, example_id=self.example_id)


class EmbeddingSpool:
    """The examples' embeddings (float32 rows) in a file of the staging folder, read back a block at a time.

    Memory holds none of them: semantic dedupe compares blocks (``block``) against blocks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dim = 0
        self.rows = 0
        self._handle = None

    def add(self, vectors: np.ndarray) -> None:
        """Append rows (all of one width)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self._handle is None:
            self._handle = self.path.open("wb")
            self.dim = vectors.shape[1]
        elif vectors.shape[1] != self.dim:
            raise ValueError(f"embedding width {vectors.shape[1]} after {self.dim}")
        self._handle.write(vectors.tobytes())
        self.rows += len(vectors)

    def block(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop`` (a copy, read from the file)."""
        if self._handle is not None:
            self._handle.flush()
        stop = min(stop, self.rows)
        if stop <= start:
            return np.zeros((0, self.dim), dtype=np.float32)
        count = (stop - start) * self.dim
        return np.fromfile(self.path, dtype=np.float32, count=count, offset=start * self.dim * 4).reshape(-1, self.dim)

    def close(self) -> None:
        """Close and delete the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.path.unlink(missing_ok=True)


class ExampleStore:
    """Redacted examples on disk, and their compact facts in memory, in arrival order.

    Index ``i`` is the ``i``-th example added. Use as a context manager (closes the spool).
    """

    def __init__(self, spool: Path, num_perm: int) -> None:
        self.spool = spool
        self.num_perm = num_perm
        self._handle = spool.open("w+b")
        self.offsets: list[int] = []
        self.example_ids: list[str] = []
        self.exact_keys: list[bytes] = []
        self._signature_blocks: list[np.ndarray] = []
        self._signatures: np.ndarray | None = None
        self.group_hashes: list[str] = []
        self.categories: list[str] = []
        self.token_counts: list[int] = []
        self.scores: list[float] = []
        self.timestamps: list[float] = []
        self.lineages: list[tuple[str, int, str]] = []
        self.user_hashes: list[str | None] = []
        self.pii_counts: Counter[str] = Counter()
        self.embeddings = EmbeddingSpool(spool.with_name(spool.name + ".embeddings"))

    def __enter__(self) -> ExampleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close and delete the spool file."""
        self._handle.close()
        self.spool.unlink(missing_ok=True)
        self.embeddings.close()

    def __len__(self) -> int:
        return len(self.example_ids)

    def add(
        self, examples: Sequence[ExampleRecord], exact_keys: list[str], signatures: np.ndarray, embeddings: np.ndarray | None = None
    ) -> None:
        """Append a batch: examples' JSON to the spool, embeddings (semantic dedupe on) to theirs, the facts to memory."""
        if embeddings is not None and len(examples):
            self.embeddings.add(embeddings)
        self._handle.seek(0, 2)
        offset = self._handle.tell()
        categories: dict[str, str] = {}
        chunk: list[bytes] = []
        for example, key in zip(examples, exact_keys, strict=True):
            data = example.json.encode() + b"\n"
            self.offsets.append(offset)
            offset += len(data)
            chunk.append(data)
            self.example_ids.append(example.example_id)
            self.exact_keys.append(bytes.fromhex(key))
            self.group_hashes.append(example.group_hash)
            self.categories.append(categories.setdefault(example.category, example.category))
            self.token_counts.append(example.token_count)
            self.scores.append(example.quality_score if example.quality_score is not None else float("-inf"))
            self.timestamps.append(example.timestamp)
            self.lineages.append((example.source, example.line, example.request_id))
            self.user_hashes.append(example.user_hash)
            self.pii_counts.update(example.pii_counts)
        self._handle.write(b"".join(chunk))
        if len(examples):
            self._signature_blocks.append(np.asarray(signatures, dtype=np.uint32))
            self._signatures = None

    @property
    def signatures(self) -> np.ndarray:
        """Every example's MinHash signature, one row each."""
        if self._signatures is None:
            blocks = self._signature_blocks
            self._signatures = np.concatenate(blocks) if blocks else np.zeros((0, self.num_perm), dtype=np.uint32)
            self._signature_blocks = [self._signatures]
        return self._signatures

    def rank(self, i: int) -> tuple:
        """Keep policy: highest quality score, then newest, then smallest id."""
        return (-self.scores[i], -self.timestamps[i], self.example_ids[i])

    def lineage(self, i: int) -> Lineage:
        """Where example ``i`` came from."""
        source, line, request_id = self.lineages[i]
        return Lineage(request_id=request_id, source=source, line=line)

    def _spooled(self, indices: Iterable[int]) -> Iterator[bytes]:
        """The spooled JSON of the examples at ``indices``, in that order (each line with its newline).

        Slices of a map of the spool: a seek and ``readline`` an example was 1.4 s of a 61,000-example write.
        """
        self._handle.flush()
        end = self._handle.seek(0, 2)
        if not end:
            return
        starts = self.offsets
        last = len(starts) - 1
        with mmap.mmap(self._handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for i in indices:
                yield view[starts[i] : starts[i + 1] if i < last else end]

    def read(self, indices: Iterable[int]) -> Iterator[ChatExample]:
        """The examples at ``indices``, read back from the spool in that order."""
        return map(ChatExample.model_validate_json, self._spooled(indices))

    def read_json(self, indices: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The examples at ``indices`` as their JSON, loaded (no pydantic), in that order."""
        return map(loads, self._spooled(indices))

    def rejected(self, i: int, stage: str, reason: str, kind: str = "duplicate") -> RejectedRecord:
        """A ``duplicate`` (or ``kind``) record for example ``i``."""
        source, line, request_id = self.lineages[i]
        return RejectedRecord(
            stage=stage,  # type: ignore[arg-type]
            kind=kind,  # type: ignore[arg-type]
            reason=reason,
            source=source,
            line=line,
            request_id=request_id,
            example_id=self.example_ids[i],
        )
