"""Stable, group-aware split; per-category report; the cross-split leakage check."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.dataset import ChatExample, ChatMessage, Lineage
from schemas.params import SplitParams
from tasks.dataset.extract import group_hash
from tasks.dataset.split import assign_split, check_leakage, split_report

PARAMS = SplitParams()


def _example(user: str, category: str, n: int) -> ChatExample:
    return ChatExample(
        example_id=f"{user}-{n}",
        messages=(ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="a long answer")),
        category=category,
        group_hash=group_hash(user, PARAMS.salt),
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lineage=Lineage(request_id=f"r{n}", source="a.jsonl", line=n + 1),
    )


def test_assignment_depends_only_on_the_group() -> None:
    first = {u: assign_split(group_hash(u, PARAMS.salt), PARAMS) for u in (f"user-{i}" for i in range(2000))}
    again = {u: assign_split(group_hash(u, PARAMS.salt), PARAMS) for u in reversed(list(first))}
    assert first == again
    shares = {s: list(first.values()).count(s) / len(first) for s in ("train", "val", "test")}
    assert abs(shares["train"] - 0.8) < 0.04 and abs(shares["val"] - 0.1) < 0.03 and abs(shares["test"] - 0.1) < 0.03
    other_salt = SplitParams(salt="another")
    assert first != {u: assign_split(group_hash(u, other_salt.salt), other_salt) for u in first}


def test_report_per_category_and_no_straddling_groups() -> None:
    examples = [_example(f"user-{i % 300}", ("billing", "shipping")[i % 2], i) for i in range(1200)]
    splits = [assign_split(e.group_hash, PARAMS) for e in examples]
    categories, groups = [e.category for e in examples], [e.group_hash for e in examples]
    report = split_report(categories, groups, splits, PARAMS)
    assert report.groups_straddling == 0
    assert sum(report.counts.values()) == 1200
    assert [c.category for c in report.categories] == ["billing", "shipping"]
    assert all(c.max_abs_deviation < 0.08 for c in report.categories)
    broken = list(splits)
    broken[0] = "test" if splits[0] != "test" else "train"
    assert split_report(categories, groups, broken, PARAMS).groups_straddling == 1


def test_leakage_check_finds_a_near_duplicate_pair_across_splits() -> None:
    text = "reset the password from the settings page and sign in again with the new one please"
    texts = [text, text + " now", "a completely different answer about shipping a damaged parcel back to us"]
    report = check_leakage(texts, ["train", "test", "train"], ["a", "b", "c"], 0.7, 128, 3)
    assert report.cross_split_pairs == [("a", "b")] and not report.clean
    assert check_leakage(texts, ["train", "train", "test"], ["a", "b", "c"], 0.7, 128, 3).clean
