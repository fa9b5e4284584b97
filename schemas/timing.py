"""Per-stage timings that runs report in their summaries and artifacts (never in versioned outputs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StageTiming(BaseModel):
    """Seconds spent in one stage of a run and the items it handled.

    For work done in tasks on a runner, the seconds are added up over the tasks (time worked,
    which exceeds wall time when tasks run in parallel).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seconds: float
    items: int

    @property
    def items_per_second(self) -> float:
        """Throughput of the stage."""
        return self.items / self.seconds if self.seconds > 0 else 0.0
