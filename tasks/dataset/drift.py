"""The drift guard: a build whose input lost too much to one reason (or one field) must not publish.

A real export that changed shape (a field renamed, a type changed, a column left null) shows up
as one reject reason, and for schema failures one field, taking a large share of the input. The
guard reads the build's ledger (``tasks.common.accounting``) after the per-line stages and before
anything is written: the previous version stays published, and the message names the reason,
the field, its share and a sample ``file:line`` (never the line's content).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.params import DriftParams
from tasks.common.accounting import Ledger


class DriftError(ValueError):
    """The input drifted: one reject reason or field took more than the allowed share. Nothing was published."""


@dataclass(frozen=True)
class Drift:
    """One reason (and field, for validation failures) over the allowed share."""

    stage: str
    reason: str
    count: int
    input_lines: int
    field: str | None = None
    sample: str | None = None

    @property
    def share(self) -> float:
        """The share of the input lines lost to it."""
        return self.count / self.input_lines if self.input_lines else 1.0

    def describe(self, limit: float) -> str:
        """A message naming the reason, the field, the share and a sample line."""
        subject = f"reason {self.reason!r}" + (f" on field {self.field!r}" if self.field else "")
        where = f", e.g. {self.sample}" if self.sample else ""
        return (
            f"{subject} (stage {self.stage}) dropped {self.count} of {self.input_lines} input lines "
            f"({self.share:.0%} > {limit:.0%}){where}"
        )


def find_drift(ledger: Ledger, input_lines: int, params: DriftParams) -> list[Drift]:
    """Every guarded reason and field over ``params.max_reason_share`` of ``input_lines``, largest first.

    Below ``params.min_lines`` input lines a share says little, so only an input that lost every
    line to the guarded stages is reported (as its largest reason).
    """
    guarded = [(stage, reason, n) for stage in params.stages for reason, n in ledger.dropped.get(stage, {}).items()]
    if not guarded:
        return []
    stage_of = {reason: stage for stage, reason, _ in guarded}
    found = [
        Drift(stage, reason, n, input_lines, sample=ledger.samples.get(reason))
        for stage, reason, n in guarded
    ]
    found += [
        Drift(stage_of[reason], reason, n, input_lines, field=name, sample=ledger.field_samples.get((reason, name)))
        for (reason, name), n in ledger.fields.items()
        if reason in stage_of
    ]
    # a field explains its reason better than the reason alone: list fields first at equal counts
    found.sort(key=lambda d: (-d.count, d.field is None, d.reason, d.field or ""))
    if input_lines < params.min_lines:
        lost = sum(n for _, _, n in guarded)
        return found[:1] if lost >= input_lines else []
    return [d for d in found if d.share > params.max_reason_share]


def check_drift(ledger: Ledger, input_lines: int, params: DriftParams) -> None:
    """Raise ``DriftError`` naming what drifted, or return when the input looks as usual.

    Raises:
        DriftError: when ``find_drift`` reports anything.
    """
    drifts = find_drift(ledger, input_lines, params)
    if drifts:
        shown = "; ".join(d.describe(params.max_reason_share) for d in drifts[:3])
        raise DriftError(f"input drift, nothing was published (the previous version stays): {shown}")
