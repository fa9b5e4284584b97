"""Progress of an ingestion run: documents/s, chunks/s and the time left, for the bar and the UI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class IngestProgress:
    """Documents and chunks done so far against the documents planned, timed from the start."""

    total_docs: int
    started: float = field(default_factory=time.monotonic)
    docs: int = 0
    chunks: int = 0

    def advance(self, docs: int, chunks: int) -> None:
        """Count one finished batch."""
        self.docs += docs
        self.chunks += chunks

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the run started processing."""
        return max((time.monotonic() if now is None else now) - self.started, 0.0)

    def docs_per_second(self, now: float | None = None) -> float:
        """Mean documents/s so far (0 before the first batch)."""
        seconds = self.elapsed(now)
        return self.docs / seconds if seconds > 0 else 0.0

    def chunks_per_second(self, now: float | None = None) -> float:
        """Mean chunks/s so far."""
        seconds = self.elapsed(now)
        return self.chunks / seconds if seconds > 0 else 0.0

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left at the mean rate so far; None before the first batch finished."""
        rate = self.docs_per_second(now)
        return (self.total_docs - self.docs) / rate if rate > 0 else None

    def percent(self) -> float:
        """Share of the planned documents done, 0-100 (100 when nothing was planned)."""
        return 100.0 * self.docs / self.total_docs if self.total_docs else 100.0

    def describe(self, now: float | None = None) -> str:
        """One line for the Prefect UI: counts, rates and the ETA."""
        eta = self.eta_seconds(now)
        left = "ETA unknown" if eta is None else f"ETA {format_duration(eta)}"
        return (
            f"{self.docs}/{self.total_docs} documents, {self.chunks} chunks; "
            f"{self.docs_per_second(now):.2f} docs/s, {self.chunks_per_second(now):.1f} chunks/s; {left}"
        )


def format_duration(seconds: float) -> str:
    """``1h02m03s``, ``4m05s`` or ``6s``."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
