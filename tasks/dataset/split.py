"""Stable, group-aware split: a hash of the group key picks the split.

An example's split depends only on its group key (user_id, else request_id) and the salt, so
adding logs never moves an existing example, and a group never straddles two splits. Hash buckets
are uniform within every category, so each category gets the target ratios in expectation; the
report shows how far each category is from them. A leakage check proves that no duplicate pair
(near-duplicate MinHash pairs recomputed over the written examples, and every dedupe method's pairs
among them) straddles two splits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from schemas.dataset import SPLITS, LeakageReport, SplitCell, SplitName, SplitReport
from schemas.params import SplitParams
from tasks.dataset.dedupe import minhash_signatures, similar_pairs


def bucket(group_hash: str) -> float:
    """A number in [0, 1) from the first 64 bits of the (already salted) group hash."""
    return int(group_hash[:16], 16) / 2**64


def assign_split(group_hash: str, params: SplitParams) -> SplitName:
    """train, val or test for a group, by its bucket and the ratios."""
    b = bucket(group_hash)
    if b < params.train:
        return "train"
    if b < params.train + params.val:
        return "val"
    return "test"


def split_report(
    categories: Sequence[str], group_hashes: Sequence[str], splits: Sequence[SplitName], params: SplitParams
) -> SplitReport:
    """Per-split and per-category counts against the target ratios, and straddling groups.

    Args:
        categories: Each example's category.
        group_hashes: Each example's group hash.
        splits: Each example's split.
        params: The target ratios.
    """
    targets = {"train": params.train, "val": params.val, "test": params.test}
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    groups: dict[str, set[str]] = defaultdict(set)
    for category, group_hash, split in zip(categories, group_hashes, splits, strict=True):
        per_category[category][split] += 1
        groups[group_hash].add(split)
    cells = []
    for category in sorted(per_category):
        counts = per_category[category]
        total = sum(counts.values())
        ratios = {s: round(counts[s] / total, 4) for s in SPLITS}
        cells.append(
            SplitCell(
                category=category,
                total=total,
                counts={s: counts[s] for s in SPLITS},
                ratios=ratios,
                max_abs_deviation=round(max(abs(ratios[s] - targets[s]) for s in SPLITS), 4),
            )
        )
    totals = Counter(splits)
    return SplitReport(
        targets=targets,
        counts={s: totals[s] for s in SPLITS},
        categories=cells,
        groups_straddling=sum(1 for s in groups.values() if len(s) > 1),
    )


def check_leakage(
    texts: Sequence[str],
    splits: Sequence[SplitName],
    ids: Sequence[str],
    threshold: float,
    num_perm: int,
    shingle_size: int,
) -> LeakageReport:
    """Near-duplicate pairs (MinHash LSH over the written texts) whose members sit in different splits."""
    return check_leakage_signed(minhash_signatures(list(texts), num_perm, shingle_size), splits, ids, threshold)


def check_leakage_signed(
    signatures: np.ndarray, splits: Sequence[SplitName], ids: Sequence[str], threshold: float
) -> LeakageReport:
    """``check_leakage`` over the written examples' MinHash signatures (one row each)."""
    pairs = similar_pairs(signatures, threshold)
    crossing = [(ids[i], ids[j]) for i, j in pairs if splits[i] != splits[j]]
    return LeakageReport(threshold=threshold, near_duplicate_pairs=len(pairs), cross_split_pairs=crossing)


def with_method_pairs(
    report: LeakageReport,
    kept: Sequence[int],
    splits: Sequence[SplitName],
    ids: Sequence[str],
    pairs: Mapping[str, Sequence[tuple[int, int]]],
) -> LeakageReport:
    """``report`` extended to every dedupe method's pairs (item indices) among the kept items.

    A method's pairs were found over everything still kept when it ran, so those between two
    written examples are all of that method's pairs among the written ones.
    """
    split_of = dict(zip(kept, splits, strict=True))
    crossing = list(report.cross_split_pairs)
    counts = dict(report.pairs_by_kind)
    for kind, found in pairs.items():
        among = [(i, j) for i, j in found if i in split_of and j in split_of]
        counts[kind] = len(among)
        crossing += [(ids[i], ids[j]) for i, j in among if split_of[i] != split_of[j]]
    return report.model_copy(update={"cross_split_pairs": sorted(set(crossing)), "pairs_by_kind": dict(sorted(counts.items()))})
