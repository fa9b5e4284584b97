"""Deduplicating any JSONL file on one field: the code behind ``tributary dedupe``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tasks.common.accounting import KEEP, Accounting
from tasks.common.jsonl import read_objects
from tasks.dataset.similarity import METHODS, Method, deduplicate_methods
from tasks.pii.fields import field_texts

READ_STAGE, STAGE = "read", "dedupe"
__all__ = ["METHODS", "READ_STAGE", "STAGE", "dedupe_jsonl"]


def dedupe_jsonl(
    in_file: Path,
    field: str,
    out_file: Path,
    clusters_file: Path,
    acc: Accounting,
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle_size: int = 3,
    methods: Sequence[Method] = ("exact", "minhash"),
    containment_threshold: float = 0.8,
    semantic_threshold: float = 0.95,
) -> None:
    """Remove duplicates of ``in_file`` on ``field`` by ``methods``, keeping each cluster's first line.

    Methods (see ``tasks.dataset.similarity.deduplicate_methods``): ``exact``; ``minhash`` (near
    duplicates by Jaccard, then copied excerpts by containment); ``semantic`` (embedding cosine).
    The file is read once. A line that is not a JSON object is counted ``dropped_malformed``
    (stage ``read``); each duplicate is counted under its reason (stage ``dedupe``). The clusters
    file names members by line number.
    """
    rows: list[tuple[int, dict]] = []
    for row in read_objects(in_file):
        if acc.check(READ_STAGE, (False, "malformed") if row.error else KEEP):
            rows.append((row.line, row.value))
    texts = ["\n".join(field_texts(obj.get(field))) for _, obj in rows]
    outcome = deduplicate_methods(
        texts, methods, threshold, containment_threshold, semantic_threshold, num_perm, shingle_size
    )
    acc.ledger.seen(STAGE, len(rows))
    for i, reason in sorted(outcome.dropped.items()):
        acc.dropped(STAGE, reason, {"line": rows[i][0], "reason": reason})
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as handle:
        for i in outcome.kept:
            handle.write(json.dumps(rows[i][1], ensure_ascii=False) + "\n")
    with clusters_file.open("w", encoding="utf-8") as handle:
        for number, cluster in enumerate(outcome.clusters):
            record = {
                "cluster": number,
                "kind": cluster.kind,
                "members": [rows[i][0] for i in cluster.members],
                "kept": rows[cluster.kept][0],
            }
            handle.write(json.dumps(record) + "\n")
