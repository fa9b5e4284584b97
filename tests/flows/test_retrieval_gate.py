"""The retrieval gate end to end: a degraded corpus version must not become CURRENT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from typer.testing import CliRunner

from cli.app import full_app
from flows.ingest import ingest_flow
from schemas.params import GateParams, IndexParams, IngestParams
from tasks.ingest import versions
from tasks.serving.gate import run_gate
from tests.documents import markdown

app = full_app()

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

FILLER = {
    "gardening.md": "# Gardening\n\nTomatoes need six hours of sun. Water the beds early in the morning.\n",
    "cooking.md": "# Cooking\n\nBake the bread at two hundred degrees for forty minutes. Let the dough rest overnight.\n",
    "astronomy.md": "# Astronomy\n\nJupiter has dozens of moons. The Andromeda galaxy is visible on clear autumn nights.\n",
}
JUNK = "# Notes\n\nThe weather was mild and the river was calm. Birds sang in the old oak trees all afternoon.\n"
QUERIES = [
    ("q1", "When are invoices issued?", "billing.md"),
    ("q2", "How long do refunds take to process?", "billing.md"),
    ("q3", "single sign-on SAML identity provider metadata URL", "security.md"),
    ("q4", "account locks after failed password attempts", "security.md"),
    ("q5", "status 429 Retry-After header", "limits.md"),
    ("q6", "how many API requests per minute per token", "limits.md"),
]


def write_corpus(folder: Path, degraded: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for topic in ("billing", "security", "limits"):
        junk = degraded and topic in ("billing", "security")
        (folder / f"{topic}.md").write_text(JUNK.replace("Notes", f"Notes {topic}") if junk else markdown(topic), encoding="utf-8")
    for name, text in FILLER.items():
        (folder / name).write_text(text, encoding="utf-8")


def gate_setup(tmp_path: Path) -> tuple[Path, IndexParams, GateParams, Path]:
    """A source folder, an index, and a gate over the QUERIES retrieval set, all under ``tmp_path``."""
    index = IndexParams(db=str(tmp_path / "lancedb"), docs_per_batch=8)
    retrieval_set = tmp_path / "retrieval.jsonl"
    retrieval_set.write_text("".join(json.dumps({"id": i, "text": t, "relevant": [d]}) + "\n" for i, t, d in QUERIES))
    gate = GateParams(retrieval_set=str(retrieval_set), k=1, bootstrap_samples=200, report_dir=str(tmp_path / "reports"))
    return tmp_path / "docs", index, gate, retrieval_set


def test_gate_keeps_current_on_the_good_version(tmp_path, monkeypatch):
    source, index, gate, retrieval_set = gate_setup(tmp_path)
    root = versions.manifest_root(index)

    write_corpus(source, degraded=False)
    assert ingest_flow(IngestParams(source_dir=str(source), index=index)).version == "v1"
    first = run_gate(index, gate, "v1")
    assert first.passed and first.baseline_version is None and first.action == "promoted"
    assert first.evaluation.metrics["recall@k"].mean >= 0.8

    write_corpus(source, degraded=True)
    assert ingest_flow(IngestParams(source_dir=str(source), index=index)).version == "v2"
    assert versions.read_pointer(root, versions.CURRENT) == "v2"  # ingestion published it
    second = run_gate(index, gate, "v2")
    assert not second.passed and second.baseline_version == "v1" and second.action == "held_back"
    assert {r.metric for r in second.regressions} >= {"recall@k", "mrr@k"}
    assert versions.read_pointer(root, versions.CURRENT) == "v1"
    assert versions.read_pointer(root, versions.LATEST) == "v2"
    report = Path(second.report).read_text(encoding="utf-8")
    assert "REGRESSED" in report and "recall@k" in report

    record_file = root / "gate" / "v2.json"
    recorded = record_file.read_text()
    dry = run_gate(index, gate, "v2", against="v1", record=False)
    assert not dry.passed and dry.action == "warned" and versions.read_pointer(root, versions.CURRENT) == "v1"
    assert record_file.read_text() == recorded  # evaluation only: nothing written beside the manifests

    warned = run_gate(index, gate.model_copy(update={"warn_only": True}), "v2", against="v1")
    assert warned.action == "warned" and versions.read_pointer(root, versions.CURRENT) == "v1"

    monkeypatch.chdir(tmp_path)  # the CLI reads params.yaml and writes reports relative to the working directory
    args = ["eval-retrieval", "--version", "v2", "--against", "v1", "--set", str(retrieval_set), "--k", "1",
            "--db", index.db, "--warn-only", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["action"] == "warned" and verdict["current"] == "v1" and not verdict["passed"]


def test_ingest_and_gate_never_serves_a_degraded_version(tmp_path, monkeypatch):
    """Regression: ingestion moved CURRENT on publish, so a bad version was served until the gate ran."""
    from flows.ingest_and_gate import ingest_and_gate

    source, index, gate, retrieval_set = gate_setup(tmp_path)
    root = versions.manifest_root(index)

    write_corpus(source, degraded=False)
    report, verdict = ingest_and_gate(IngestParams(source_dir=str(source), index=index), gate)
    assert report.version == "v1" and verdict.action == "promoted"
    assert versions.read_pointer(root, versions.CURRENT) == "v1"

    write_corpus(source, degraded=True)
    seen_current = []
    original = versions.publish_manifest

    def spy(*args, **kwargs):
        original(*args, **kwargs)
        seen_current.append(versions.read_pointer(root, versions.CURRENT))

    monkeypatch.setattr(versions, "publish_manifest", spy)
    report, verdict = ingest_and_gate(IngestParams(source_dir=str(source), index=index), gate)
    assert report.version == "v2" and verdict.action == "held_back"
    assert seen_current == ["v1"]  # v2 was never CURRENT, not even between publish and gate
    assert versions.read_pointer(root, versions.CURRENT) == "v1" and versions.read_pointer(root, versions.LATEST) == "v2"
    again, verdict = ingest_and_gate(IngestParams(source_dir=str(source), index=index), gate)
    assert not again.published and verdict is None
