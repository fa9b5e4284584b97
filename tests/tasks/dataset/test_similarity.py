"""Copies the Jaccard MinHash misses: a copied excerpt of a longer text (containment) and semantic copies."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.app import make_app
from cli.dataset import COMMANDS
from tasks.dataset.similarity import containment_pairs, deduplicate_methods, per_method

LONG = (
    "To rotate the signing secret of a webhook endpoint, create a second secret in the dashboard, deploy "
    "consumers that accept signatures made with either secret, wait until every consumer runs the new "
    "version, then revoke the old secret and watch the delivery log for failed signature checks."
)
EXCERPT = "deploy consumers that accept signatures made with either secret, wait until every consumer runs the new version"
SAME_TOPIC = (
    "Webhook secrets can be changed at any time from the settings page; old deliveries keep the signature "
    "they were sent with, and retries use the current secret."
)
EDITED = LONG.replace("dashboard", "admin console").replace("watch", "check")


def test_a_copied_excerpt_is_contained_and_an_independent_text_is_not() -> None:
    texts = [LONG, EXCERPT, SAME_TOPIC]
    assert containment_pairs(texts, 0.8) == [(0, 1)]
    outcome = deduplicate_methods(texts, ["exact", "minhash"])
    assert outcome.kept == [0, 2] and per_method(outcome) == {"contained_duplicate": 1}


def test_semantic_method_finds_a_light_edit_with_the_project_model() -> None:
    texts = [LONG, EDITED, SAME_TOPIC]
    outcome = deduplicate_methods(texts, ["semantic"], semantic_threshold=0.95)
    assert outcome.kept == [0, 2] and per_method(outcome) == {"semantic_duplicate": 1}
    assert [c.kind for c in outcome.clusters] == ["semantic"]


def test_dedupe_command_method_switch(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [{"t": LONG}, {"t": EXCERPT}, {"t": SAME_TOPIC}, {"t": LONG}]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    app = make_app(COMMANDS)

    def run(method: str) -> list[dict]:
        out = tmp_path / f"{method}.jsonl"
        args = ["dedupe", "--in", str(src), "--field", "t", "--method", method, "--out", str(out),
                "--clusters", str(tmp_path / f"{method}-clusters.jsonl")]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return [json.loads(x) for x in out.read_text().splitlines()]

    assert run("exact") == rows[:3]
    assert run("minhash") == [rows[0], rows[2]]
    kinds = [json.loads(x)["kind"] for x in (tmp_path / "minhash-clusters.jsonl").read_text().splitlines()]
    assert sorted(kinds) == ["contained", "exact"]


def _brute_force(texts: list[str], threshold: float, min_shingles: int) -> list[tuple[int, int]]:
    """Every pair compared: shared distinct shingles (the words themselves, ``shingles``) over the smaller set."""
    from tasks.dataset.dedupe import shingles
    from tasks.dataset.similarity import containment

    sets = [set(shingles(t, 3)) for t in texts]
    return [(i, j) for i in range(len(sets)) for j in range(i + 1, len(sets))
            if min(len(sets[i]), len(sets[j])) >= min_shingles and containment(sets[i], sets[j]) >= threshold]


def test_prefix_filtered_containment_equals_brute_force(monkeypatch) -> None:
    """Prefix-filter candidates, bounded per bucket and verified, find exactly the pairs every-pair comparison finds.

    Random small collections (fixed seeds) with excerpts, texts around others, a very common phrase, texts
    under ``min_shingles``, and chunks small enough that candidates span many of them.
    """
    import random

    from tasks.dataset import similarity

    monkeypatch.setattr(similarity, "PAIR_CHUNK", 97)  # many windows of whole sets
    monkeypatch.setattr(similarity, "BOUND_CHUNK", 50)  # the bucket bound over many slices
    found_any = 0
    for seed in range(6):
        rng = random.Random(seed)
        words = [f"w{i}" for i in range(rng.choice([30, 120, 400]))]
        texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 50))) for _ in range(150)]
        for k in range(30):  # excerpts of earlier texts, and earlier texts inside longer ones
            t = texts[k].split()
            texts.append(" ".join(t[len(t) // 4 : len(t) // 4 + max(3, len(t) // 2)]))
            texts.append(f"{rng.choice(words)} {texts[k + 30]} {rng.choice(words)} {rng.choice(words)}")
        texts += ["one common phrase said here " + t for t in texts[:60]]
        for threshold, min_shingles in ((0.5, 1), (0.8, 3), (0.9, 5), (1.0, 3)):
            expected = _brute_force(texts, threshold, min_shingles)
            assert containment_pairs(texts, threshold, 3, min_shingles) == expected, (seed, threshold)
            found_any += len(expected)
    assert found_any > 500


def test_a_pair_is_a_function_of_its_two_texts_alone() -> None:
    """Regression: a shingle held by more than 500 texts of the compared set was skipped, so a copied excerpt
    sharing only common shingles with its source was missed in a large selection and found in a small one."""
    common = "please tell me the status of my order"
    filler = [f"{common} number {i} thanks {i} ok" for i in range(600)]
    source, excerpt = f"x1 x2 {common} x3 x4", common
    alone = containment_pairs([source, excerpt], 0.8)
    crowd = containment_pairs([source, excerpt, *filler], 0.8)
    assert alone == [(0, 1)] and (0, 1) in crowd


def test_blockwise_semantic_pairs_equal_the_whole_matrix_over_a_subset() -> None:
    import numpy as np

    from tasks.dataset.similarity import semantic_pairs, semantic_pairs_blockwise

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    vectors[150:] = vectors[:150] + rng.normal(scale=0.05, size=(150, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    members = [i for i in range(300) if i % 7]
    expected = semantic_pairs(vectors[members], 0.99)
    assert expected
    assert semantic_pairs_blockwise(lambda a, b: vectors[a:b], members, 0.99, size=32) == expected


def test_staged_dedupe_runs_each_method_over_what_the_earlier_kept() -> None:
    from tasks.dataset.similarity import deduplicate_staged

    stages = [("exact", lambda s: [(0, 1)] if s[:2] == [0, 1] else []), ("semantic", lambda s: [(a, a + 1) for a in range(len(s) - 1)])]
    outcome, pairs = deduplicate_staged(4, stages, rank=lambda i: (-i,))  # the highest index ranks best
    assert outcome.dropped == {0: "exact_duplicate", 1: "semantic_duplicate", 2: "semantic_duplicate"}
    assert outcome.kept == [3] and pairs == {"exact": [(0, 1)], "semantic": [(1, 2), (2, 3)]}
    assert [(c.kind, c.members, c.kept) for c in outcome.clusters] == [("exact", [0, 1], 1), ("semantic", [1, 2, 3], 3)]


def test_the_bucket_bound_never_falls_below_the_shared_count_and_prunes_unrelated_sets() -> None:
    """``_may_share``'s bound: at least the true shared count of every pair (exact), below it for unrelated sets."""
    import numpy as np

    from tasks.dataset.similarity import ShingleSets, _bucket_counts, _may_share

    rng = np.random.default_rng(8)
    def hashes(n: int) -> np.ndarray:
        return rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)

    base = [np.unique(hashes(75)) for _ in range(60)]
    edited = [np.unique(np.concatenate((s[: 60 + k % 10], hashes(15)))) for k, s in enumerate(base)]
    sets = ShingleSets.of(base + edited)
    counts = _bucket_counts(sets)
    a, b = (x.ravel() for x in np.meshgrid(np.arange(len(sets)), np.arange(len(sets)), indexing="ij"))
    shared = np.array([len(np.intersect1d(sets.hashes[sets.offsets[i]:sets.offsets[i + 1]],
                                          sets.hashes[sets.offsets[j]:sets.offsets[j + 1]])) for i, j in zip(a, b)])
    for needed in (1, 30, 60, 75):
        kept = _may_share(counts, counts, a, b, np.full(len(a), needed))
        assert kept[shared >= needed].all()  # never drops a pair that reaches the count
    unrelated = shared < 10
    assert _may_share(counts, counts, a[unrelated], b[unrelated], np.full(int(unrelated.sum()), 60)).mean() < 0.01


def test_new_sets_against_a_larger_collection_find_the_every_pair_cross_pairs(monkeypatch) -> None:
    """The pair store's join of a few new sets with many older ones (cut to the hashes the new ones have) is exact."""
    import random

    from tasks.dataset import similarity
    from tasks.dataset.dedupe import shingles
    from tasks.dataset.pairs import containment_scorer
    from tasks.dataset.similarity import ShingleSets, containment, distinct_shingle_hashes

    monkeypatch.setattr(similarity, "PAIR_CHUNK", 97)
    found_any = 0
    for seed in range(4):
        rng = random.Random(seed)
        words = [f"w{i}" for i in range(rng.choice([40, 200]))]
        old = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) for _ in range(200)]
        new = [" ".join(old[k].split()[2:20]) for k in range(15)]  # excerpts of older texts
        new += [f"{old[k + 20]} {rng.choice(words)} {rng.choice(words)}" for k in range(15)]  # older texts inside new ones
        new += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))) for _ in range(20)]
        for threshold, min_shingles in ((0.5, 1), (0.8, 3), (1.0, 3)):
            sets_new, sets_old = ([set(shingles(t, 3)) for t in texts] for texts in (new, old))
            expected = sorted((i, j) for i, a in enumerate(sets_new) for j, b in enumerate(sets_old)
                              if min(len(a), len(b)) >= min_shingles and containment(a, b) >= threshold)
            score = containment_scorer(threshold, min_shingles)
            got = score(*(ShingleSets.of(distinct_shingle_hashes(t, 3)) for t in (new, old)))
            assert [(i, j) for i, j, _ in got] == expected, (seed, threshold)
            found_any += len(expected)
    assert found_any > 50


def test_the_prefix_holds_each_sets_rarest_hashes_and_keys_are_sorted_whatever_the_input() -> None:
    """``_prefix`` (one sort of rank codes) against the order it stands for: per set, (frequency, hash) ascending."""
    import numpy as np

    from tasks.dataset.similarity import ShingleSets, _needed, _prefix, shingle_frequency

    rng = np.random.default_rng(5)
    sets = ShingleSets.of([np.unique(rng.integers(0, 300, rng.integers(1, 40))).astype(np.uint32) for _ in range(200)])
    frequency = shingle_frequency(sets)
    taking = sets.sizes >= 3
    needed = _needed(sets.sizes, 0.7)
    hashes, docs = _prefix(sets, taking, needed, frequency)
    expected_hashes, expected_docs = [], []
    for d in np.flatnonzero(taking).tolist():
        own = sets.hashes[sets.offsets[d] : sets.offsets[d + 1]].tolist()
        ranked = sorted(own, key=lambda h: (int(frequency(np.array([h], np.uint32))[0]), h))
        kept = ranked[: len(own) - int(needed[d]) + 1]
        expected_hashes += kept
        expected_docs += [d] * len(kept)
    assert hashes.tolist() == expected_hashes and docs.tolist() == expected_docs
    unsorted = ShingleSets(np.array([9, 3, 5, 1], np.uint32), np.array([0, 3, 4], np.int64))  # set 0 out of order
    keys = unsorted.keys()
    assert keys.tolist() == sorted(keys.tolist()) and len(keys) == 4
