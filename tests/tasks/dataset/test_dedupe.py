"""Exact and near-duplicate removal, keep policy, cluster report, the dedupe command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash
from typer.testing import CliRunner

from cli.app import make_app
from cli.dataset import COMMANDS
from schemas.dataset import ChatExample, ChatMessage, Lineage, StageReport
from schemas.params import DatasetParams
from tasks.dataset.dedupe import deduplicate, minhash_signatures, shingle_hashes, shingles
from tasks.dataset.prefect_tasks import Selection, dedupe_and_split
from tests.tasks.dataset.stores import store_of

BASE = (
    "Sign out, clear the cache and sign back in, then check that your Ledger Pro version is the latest "
    "one and export a diagnostic report from the Help menu if the sync failure comes back tomorrow."
)
OTHER = "Compare the totals on the invoice page with your bank statement and reply with the reference number."


def test_exact_then_near_duplicates() -> None:
    texts = [BASE, BASE.upper() + "  ", BASE.replace("tomorrow", "today"), OTHER, BASE]
    outcome = deduplicate(texts)
    assert outcome.kept == [0, 3]
    assert outcome.dropped == {1: "exact_duplicate", 4: "exact_duplicate", 2: "near_duplicate"}
    assert [(c.kind, c.members, c.kept) for c in outcome.clusters] == [("exact", [0, 1, 4], 0), ("near", [0, 2], 0)]


def test_threshold_and_shingle_size_matter() -> None:
    texts = [BASE, BASE.replace("Ledger Pro", "SyncBox").replace("tomorrow", "next week")]
    assert deduplicate(texts, threshold=0.6).kept == [0]
    assert deduplicate(texts, threshold=0.95).kept == [0, 1]
    assert deduplicate([BASE, BASE + " ", BASE + " again"], threshold=1.0).kept == [0, 2]
    assert len(shingles(BASE, 1)) > len(shingles("a b", 3)) == 1


def test_signatures_equal_datasketch_minhash_bulk() -> None:
    texts = [BASE, OTHER, "", "two words", BASE + " " + OTHER]
    hashes, counts = shingle_hashes(texts, 3)
    assert counts.tolist() == [34, 15, 1, 1, 51]  # words - 2 per text, one shingle for short texts
    ends = np.cumsum(counts)
    per_text = [[int(h) for h in hashes[e - c : e]] for e, c in zip(ends, counts, strict=True)]
    reference = MinHash.bulk(per_text, num_perm=128, seed=1, hashfunc=lambda h: h)
    assert (np.vstack([m.hashvalues for m in reference]) == minhash_signatures(texts, 128, 3, workers=1)).all()


def test_signatures_are_the_same_in_worker_processes() -> None:
    texts = [f"{BASE} variant {i}" for i in range(40)]
    assert (minhash_signatures(texts, 64, 3, workers=1) == minhash_signatures(texts, 64, 3, workers=2)).all()


def _example(reply: str, line: int, score: float | None, minutes: int) -> ChatExample:
    return ChatExample(
        example_id=f"id{line}",
        messages=(
            ChatMessage(role="system", content="Shared system prompt " * 30),
            ChatMessage(role="user", content="Help?"),
            ChatMessage(role="assistant", content=reply),
        ),
        group_hash=f"{line:064x}",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        quality_score=score,
        lineage=Lineage(request_id=f"r{line}", source="a.jsonl", line=line),
    )


def _dedupe(examples: list[ChatExample], folder: Path) -> tuple[list[int], Selection, StageReport, list]:
    """Lines kept by the flow's dedupe-and-split task, its selection, the dedupe report and its records."""
    with store_of(examples, folder, DatasetParams()) as store:
        selection = dedupe_and_split.fn(store, DatasetParams())
        records = list(selection.duplicate_records(store))
        return [store.lineages[i][1] for i in selection.kept], selection, selection.tally.reports()[-1], records


def test_keep_policy_highest_quality_then_newest(tmp_path: Path) -> None:
    examples = [
        _example(BASE, 1, 0.5, 0),
        _example(BASE, 2, 0.9, 0),
        _example(BASE, 3, 0.9, 5),
        _example(OTHER, 4, None, 0),
    ]
    kept, selection, report, records = _dedupe(examples, tmp_path)
    assert kept == [3, 4]
    assert {r.line: r.reason for r in records} == {1: "exact_duplicate", 2: "exact_duplicate"}
    assert selection.clusters[0].kept == "a.jsonl:3"
    assert report.as_flat() == {"total": 4, "kept": 2, "dropped_exact_duplicate": 2}


def test_shared_system_prompt_does_not_make_duplicates(tmp_path: Path) -> None:
    """Regression: with the long shared system prompt compared, distinct replies looked like near duplicates."""
    examples = [_example(BASE, 1, 0.5, 0), _example(OTHER, 2, 0.5, 0)]
    kept, _, _, _ = _dedupe(examples, tmp_path)
    assert kept == [1, 2]


def test_dedupe_command_writes_kept_lines_and_clusters(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [{"t": BASE}, {"t": OTHER}, {"t": BASE.replace("tomorrow", "today")}, {"t": BASE}]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    app = make_app(COMMANDS)
    args = [
        "dedupe",
        "--in",
        str(src),
        "--field",
        "t",
        "--threshold",
        "0.8",
        "--out",
        str(tmp_path / "kept.jsonl"),
        "--clusters",
        str(tmp_path / "clusters.jsonl"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in (tmp_path / "kept.jsonl").read_text().splitlines()] == rows[:2]
    clusters = [json.loads(x) for x in (tmp_path / "clusters.jsonl").read_text().splitlines()]
    assert [(c["members"], c["kept"]) for c in clusters] == [([1, 4], 1), ([1, 3], 1)]
    assert all(set(c) >= {"cluster", "members", "kept"} for c in clusters)


def test_numpy_banding_finds_the_pairs_of_minhashlsh() -> None:
    """``similar_pairs`` bands in numpy; its pairs are those of datasketch's MinHashLSH queries."""
    from bench.bench_dedupe import synthetic_texts
    from tasks.dataset.dedupe import _lean, build_lsh, similar_pairs

    texts = synthetic_texts(3_000, seed=3, near_rate=0.3) + [BASE] * 4 + [OTHER + " x"] * 3
    for threshold, num_perm in ((0.8, 128), (0.5, 64), (0.9, 128)):
        signatures = minhash_signatures(texts, num_perm, 3, workers=1)
        lsh = build_lsh(signatures, threshold)
        reference = sorted(
            (i, j)
            for i, row in enumerate(signatures)
            for j in lsh.query(_lean(row))
            if j > i and (signatures[i] == signatures[j]).mean() >= threshold
        )
        assert len(reference) > 100
        assert similar_pairs(signatures, threshold) == reference


def test_pairs_between_two_collections_are_the_cross_pairs_of_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """``similar_pairs_between`` finds exactly the pairs ``similar_pairs`` finds across the two sides, scored."""
    from bench.bench_dedupe import synthetic_texts
    from tasks.dataset import dedupe as dedupe_lib

    texts = synthetic_texts(2_000, seed=4, near_rate=0.3) + [BASE] * 5 + [OTHER + " x"] * 3
    monkeypatch.setattr(dedupe_lib, "CANDIDATE_CHUNK", 50)  # many expansion windows, each verified
    for threshold in (0.8, 0.5, 1.0):
        signatures = minhash_signatures(texts, 128, 3, workers=1)
        rows = np.random.default_rng(5).permutation(len(texts))  # near copies on either side
        on_left, on_right = rows[:700], rows[700:]
        left, right = signatures[on_left], signatures[on_right]
        at_left = {int(r): k for k, r in enumerate(on_left)}
        at_right = {int(r): k for k, r in enumerate(on_right)}
        whole = dedupe_lib.similar_pairs(signatures, threshold)
        expected = sorted((at_left[a], at_right[b]) for i, j in whole for a, b in ((i, j), (j, i))
                          if a in at_left and b in at_right)
        if threshold == 1.0:  # ``similar_pairs`` links identical rows to the first of them; across: every pair
            same = [np.flatnonzero((right == row).all(axis=1)).tolist() for row in left]
            expected = [(i, j) for i, js in enumerate(same) for j in js]
        found = dedupe_lib.similar_pairs_between(left, right, threshold)
        assert len(expected) >= 5
        assert [(i, j) for i, j, _ in found] == expected
        assert all(s == (left[i] == right[j]).mean() >= threshold for i, j, s in found)


def test_ascii_fast_path_gives_the_same_words() -> None:
    from tasks.dataset.dedupe import _PUNCT, _words, normalise

    for code in [*range(128), 0xE9, 0x2028, 0xFF21]:
        text = f"Ab{chr(code)}Cd  x_Y <PERSON_1> 42!"
        assert _words(text) == [w.encode() for w in _PUNCT.sub(" ", normalise(text)).split()]
