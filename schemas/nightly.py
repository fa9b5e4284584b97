"""The nightly run's report: one outcome per branch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

BranchStatus = Literal["completed", "failed", "skipped"]


class BranchOutcome(BaseModel):
    """One branch of the nightly run: its status, what it counted, how long it took."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    status: BranchStatus
    seconds: float = 0.0
    items: int = 0
    counts: dict[str, int | float | str | None] = {}
    reason: str | None = None

    @property
    def items_per_second(self) -> float:
        """Throughput of the branch (0 when it did not run)."""
        return self.items / self.seconds if self.seconds > 0 else 0.0


class NightlyReport(BaseModel):
    """Every branch's outcome, in run order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    branches: list[BranchOutcome]

    def branch(self, name: str) -> BranchOutcome:
        """The outcome of the branch called ``name``."""
        return next(outcome for outcome in self.branches if outcome.name == name)

    @property
    def failed(self) -> list[BranchOutcome]:
        """The branches that failed."""
        return [outcome for outcome in self.branches if outcome.status == "failed"]
