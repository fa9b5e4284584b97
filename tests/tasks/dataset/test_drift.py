"""The drift guard over a build's ledger: a reason or a field over its share fails, the usual mix does not."""

from __future__ import annotations

import pytest

from schemas.params import DriftParams
from tasks.common.accounting import Ledger
from tasks.dataset.drift import DriftError, check_drift, find_drift


def _ledger(schema_invalid: int, filtered: int, total: int = 100) -> Ledger:
    ledger = Ledger()
    ledger.seen("read", total)
    ledger.seen("schema", total)
    for n in range(schema_invalid):
        ledger.drop("schema", "schema_invalid", f"a.jsonl:{n + 5}", ["full_prompt"] if n % 2 else ["timestamp"])
    ledger.seen("select", total - schema_invalid)
    for _ in range(filtered):
        ledger.drop("select", "negative_feedback", None)
    return ledger


def test_the_usual_mix_passes_even_with_many_filtered_lines() -> None:
    check_drift(_ledger(schema_invalid=10, filtered=60), 100, DriftParams())


def test_a_reason_over_its_share_fails_naming_reason_field_and_a_line() -> None:
    with pytest.raises(DriftError) as raised:
        check_drift(_ledger(schema_invalid=30, filtered=0), 100, DriftParams())
    message = str(raised.value)
    assert "'schema_invalid'" in message and "30 of 100" in message and "a.jsonl:5" in message


def test_one_field_over_its_share_is_named() -> None:
    drifts = find_drift(_ledger(schema_invalid=50, filtered=0), 100, DriftParams(max_reason_share=0.24))
    assert [(d.field, d.count) for d in drifts] == [(None, 50), ("full_prompt", 25), ("timestamp", 25)]
    assert drifts[1].sample == "a.jsonl:6"


def test_a_small_input_fails_only_when_it_lost_everything() -> None:
    assert find_drift(_ledger(schema_invalid=5, filtered=0, total=10), 10, DriftParams()) == []
    assert find_drift(_ledger(schema_invalid=10, filtered=0, total=10), 10, DriftParams())[0].reason == "schema_invalid"
