"""One accounting mechanism for every pipeline: a step decides keep or a reason; the ledger counts.

In the spirit of datatrove's ``BaseFilter``: a step returns a ``Decision`` (``(True, None)`` to
keep, ``(False, reason)`` to drop); ``Accounting.check`` counts ``total / kept / dropped_<reason>``
for the step's stage and hands the dropped record, built only when something is dropped, to a
reject sink. The build's sink is a ``RejectsWriter``, which appends one JSON line a record as it
goes (never holding the rejects in memory); a task running on another process collects its
batch's rejects in a list (``list.append``) and the parent streams them on.

The ledger also keeps, per reason, the first place it was seen and, for validation failures, the
top-level field each pydantic error names: what a drift guard needs to say *why* a share of the
input was lost.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas.dataset import StageReport

T = TypeVar("T")
Decision = tuple[bool, str | None]
"""What a step returns: ``(True, None)`` keeps the item, ``(False, reason)`` drops it."""
RejectSink = Callable[[Any], None]
"""Where a dropped record goes (a ``RejectsWriter.write``, a list's ``append``)."""
KEEP: Decision = (True, None)


def error_fields(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """The top-level fields that pydantic ``errors()`` name (``loc[0]``), in order, once each."""
    fields: dict[str, None] = {}
    for error in errors:
        loc = error.get("loc") or ()
        if loc:
            fields.setdefault(str(loc[0]), None)
    return list(fields)


@dataclass
class Ledger:
    """Items seen and dropped (by reason) per stage, with a sample place and the failing fields."""

    totals: Counter[str] = field(default_factory=Counter)
    dropped: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    samples: dict[str, str] = field(default_factory=dict)
    """reason -> the first ``file:line`` (or item) dropped for it."""
    fields: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(reason, field) -> items whose validation failed on that field."""
    field_samples: dict[tuple[str, str], str] = field(default_factory=dict)

    def seen(self, stage: str, n: int = 1) -> None:
        """Count ``n`` items entering ``stage``."""
        self.totals[stage] += n

    def drop(self, stage: str, reason: str, where: str | None = None, fields: Sequence[str] = ()) -> None:
        """Count one item dropped by ``stage`` for ``reason`` (``where`` and ``fields`` for the guard)."""
        self.dropped[stage][reason] += 1
        if where is not None:
            self.samples.setdefault(reason, where)
        for name in fields:
            self.fields[(reason, name)] += 1
            if where is not None:
                self.field_samples.setdefault((reason, name), where)

    def merge(self, other: Ledger) -> None:
        """Add another ledger (a batch's) to this one; the earlier sample wins."""
        self.totals.update(other.totals)
        for stage, reasons in other.dropped.items():
            self.dropped[stage].update(reasons)
        for reason, where in other.samples.items():
            self.samples.setdefault(reason, where)
        self.fields.update(other.fields)
        for key, where in other.field_samples.items():
            self.field_samples.setdefault(key, where)

    def kept(self, stage: str) -> int:
        """Items of ``stage`` that were not dropped."""
        return self.totals[stage] - sum(self.dropped[stage].values())

    def report(self, stage: str) -> StageReport:
        """``total / kept / dropped`` of one stage."""
        return StageReport(
            stage=stage,
            total=self.totals[stage],
            kept=self.kept(stage),
            dropped=dict(sorted(self.dropped[stage].items())),
        )

    def reports(self, order: Sequence[str] | None = None) -> list[StageReport]:
        """One report per stage that saw anything, in ``order`` (default: first seen)."""
        stages = order if order is not None else list(self.totals)
        return [self.report(stage) for stage in stages if stage in self.totals]

    def flat(self, stage: str) -> dict[str, int]:
        """``{"total", "kept", "dropped_<reason>"...}`` of one stage (what the CLI prints)."""
        return self.report(stage).as_flat()

    def flat_over(self, stages: Sequence[str]) -> dict[str, int]:
        """A chain of stages as one: the first seen stage's total, the last one's kept, every drop by reason.

        Each stage's ``kept`` is the next one's ``total``, so ``total == kept + sum(dropped_*)``.
        """
        present = [stage for stage in stages if stage in self.totals]
        if not present:
            return {"total": 0, "kept": 0}
        flat = {"total": self.totals[present[0]], "kept": self.kept(present[-1])}
        drops: Counter[str] = Counter()
        for stage in present:
            drops.update(self.dropped[stage])
        flat.update({f"dropped_{reason}": n for reason, n in sorted(drops.items())})
        return flat

    def dropped_by_reason(self) -> Counter[str]:
        """Every stage's drops added up by reason."""
        total: Counter[str] = Counter()
        for reasons in self.dropped.values():
            total.update(reasons)
        return total


def stage_report(stage: str, total: int, reasons: Iterable[str]) -> StageReport:
    """``total / kept / dropped_<reason>`` from a count and the reasons of the failures (one each).

    For steps that report failures as a list rather than through ``Accounting``: ingestion's
    ``IngestReport`` gives ``stage_report("ingest", report.discovered, (reason_code(f.reason) for
    f in report.failed))``.
    """
    ledger = Ledger()
    ledger.seen(stage, total)
    for reason in reasons:
        ledger.drop(stage, reason)
    return ledger.report(stage)


def reason_code(message: str) -> str:
    """A free-text failure message as a reason: its part before the first ``:``, in snake case."""
    head = message.split(":", 1)[0].strip().lower()
    code = "".join(c if c.isalnum() else "_" for c in head).strip("_")
    return "_".join(part for part in code.split("_") if part) or "failed"


def _where(record: Any) -> str | None:
    where = getattr(record, "where", None)
    return where if isinstance(where, str) else None


@dataclass
class Accounting:
    """A ledger plus the sink that receives every dropped record."""

    ledger: Ledger = field(default_factory=Ledger)
    sink: RejectSink | None = None

    def check(self, stage: str, decision: Decision, reject: Callable[[str], Any] | None = None) -> bool:
        """Count one item through ``stage``; on a drop, build its record with ``reject(reason)`` and sink it.

        Returns:
            True when the item is kept.
        """
        self.ledger.seen(stage)
        keep, reason = decision
        if keep:
            return True
        self.dropped(stage, reason or "filtered", reject(reason or "filtered") if reject else None)
        return False

    def dropped(self, stage: str, reason: str, record: Any = None) -> None:
        """Count an item already seen by ``stage`` as dropped, and sink its record (if any)."""
        errors = getattr(record, "errors", None) or []
        self.ledger.drop(stage, reason, _where(record), error_fields(errors) if isinstance(errors, list) else ())
        if record is not None and self.sink is not None:
            self.sink(record)

    def filter(
        self, stage: str, items: Iterable[T], decide: Callable[[T], Decision], reject: Callable[[T, str], Any] | None = None
    ) -> Iterator[T]:
        """The items ``decide`` keeps, every one counted, every drop's record (``reject(item, reason)``) sunk."""
        for item in items:
            if self.check(stage, decide(item), (lambda reason, item=item: reject(item, reason)) if reject else None):
                yield item


def _json_line(record: Any) -> str:
    if isinstance(record, BaseModel):
        record = record.model_dump(mode="json", exclude_none=True)
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


class RejectsWriter:
    """Appends each dropped record to a JSONL file as it comes; counts them by ``(kind, reason)``.

    Records are pydantic models (dumped without ``None`` fields) or plain mappings. Use as a
    context manager, or call ``close``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8", newline="\n")
        self.kinds: Counter[tuple[str, str]] = Counter()
        self.written = 0

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, record: Any) -> None:
        """Append one record (and count it)."""
        self._handle.write(_json_line(record))
        get = record.get if isinstance(record, Mapping) else lambda name: getattr(record, name, None)
        self.kinds[(str(get("kind") or ""), str(get("reason") or ""))] += 1
        self.written += 1

    def write_all(self, records: Iterable[Any]) -> None:
        """Append records in order."""
        for record in records:
            self.write(record)

    def flush(self) -> None:
        """Flush to disk (before reading the file back)."""
        self._handle.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._handle.closed:
            self._handle.close()


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file written by this module, one at a time."""
    with Path(path).open(encoding="utf-8") as handle:
        for text in handle:
            if text.strip():
                yield json.loads(text)


def merge_sorted_jsonl(paths: Sequence[Path], out: Path, key: Callable[[dict[str, Any]], Any]) -> int:
    """Merge JSONL files, each already sorted by ``key``, into ``out`` (streaming; one line each in memory).

    Returns:
        How many records were written.
    """
    n = 0
    with Path(out).open("w", encoding="utf-8", newline="\n") as handle:
        for record in heapq.merge(*(iter_jsonl(p) for p in paths if Path(p).exists()), key=key):
            handle.write(_json_line(record))
            n += 1
    return n
