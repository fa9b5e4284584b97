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
