"""A stopwatch per stage for a run's report: wall time in the flow, or seconds measured in tasks."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from schemas.timing import StageTiming


@dataclass
class StageClock:
    """Accumulates seconds and item counts per stage over a run."""

    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, items: int = 0) -> Iterator[None]:
        """Time one pass of a stage and add ``items`` to its count."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start, items)

    def add(self, name: str, seconds: float, items: int) -> None:
        """Add time measured elsewhere (in a task on another thread, process or machine)."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.items[name] = self.items.get(name, 0) + items

    def merge(self, other: StageClock) -> None:
        """Add another clock's seconds and items (a task's, measured where it ran)."""
        for name, seconds in other.seconds.items():
            self.add(name, seconds, other.items.get(name, 0))

    def timings(self) -> dict[str, StageTiming]:
        """Per-stage timings for the report, in the order the stages first ran."""
        return {name: StageTiming(seconds=round(s, 3), items=self.items.get(name, 0)) for name, s in self.seconds.items()}


def log_timings(logger: logging.Logger | logging.LoggerAdapter, timings: Mapping[str, StageTiming]) -> None:
    """One structured log record per stage: ``event=stage``, ``stage``, ``items``, ``seconds``, ``items_per_s``."""
    for name, timing in timings.items():
        logger.info(
            "stage %s: %d items in %.2f s (%.1f items/s)", name, timing.items, timing.seconds, timing.items_per_second,
            extra={"event": "stage", "stage": name, "items": timing.items, "seconds": timing.seconds,
                   "items_per_s": round(timing.items_per_second, 2)},
        )
