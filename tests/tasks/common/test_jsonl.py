"""``loads``: orjson's speed, ``json.loads``'s values and errors."""

from __future__ import annotations

import json
import math

import pytest

from schemas.dataset import ChatExample
from tasks.common.jsonl import loads


def test_loads_gives_json_loads_values_for_our_json_and_for_what_orjson_refuses() -> None:
    example = ChatExample.model_validate({
        "example_id": "e1", "group_hash": "g", "category": "billing", "timestamp": "2026-01-02T03:04:05Z",
        "messages": [{"role": "user", "content": "Grüße \u2028 \"quoted\" \\ tab\t"}, {"role": "assistant", "content": "ok"}],
        "lineage": {"request_id": "r1", "source": "a.jsonl", "line": 3}, "quality_score": 0.1 + 0.2,
    })
    for text in (example.model_dump_json(), example.model_dump_json().encode(), b'[12345678901234567890123]', '{"big": 123456789012345678901234567890}', '{"n": -9223372036854775809}',
                 '["\\ud800 lone surrogate", 1e400]', '{"a": 1, "a": 2}'):
        assert loads(text) == json.loads(text)
    assert math.isnan(loads('{"x": NaN}')["x"])
    with pytest.raises(json.JSONDecodeError):
        loads('{"unterminated": ')
