"""How a rebuild's new lines are shared among the ahead processes."""

from __future__ import annotations

import pytest

from tasks.dataset.ahead import split_evenly
from tasks.dataset.read import RawLine


@pytest.mark.parametrize(("count", "shares"), [(1, 1), (7, 2), (8, 2), (10, 3), (401, 2), (5, 5)])
def test_split_evenly_keeps_every_line_in_order_in_runs_differing_by_one_at_most(count: int, shares: int) -> None:
    lines = [RawLine(source="a.jsonl", line=n, text=f"{{\"n\": {n}}}") for n in range(1, count + 1)]
    runs = split_evenly(lines, shares)
    assert len(runs) == shares
    assert [raw for run in runs for raw in run] == lines
    assert max(map(len, runs)) - min(map(len, runs)) <= 1
