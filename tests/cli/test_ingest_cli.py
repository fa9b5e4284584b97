"""The ``tributary`` console script: ingest --json contract, search (single and batch), versions, diff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import full_app
from tests.documents import write_mixed_corpus

app = full_app()

pytestmark = pytest.mark.slow
TRIBUTARY = str(Path(sys.executable).with_name("tributary"))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """One real `tributary ingest --json` in a subprocess (its own temporary Prefect server)."""
    root = tmp_path_factory.mktemp("cli")
    source, db = root / "docs", root / "lancedb"
    write_mixed_corpus(source)
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    done = subprocess.run([TRIBUTARY, "ingest", str(source), "--db", str(db), "--json"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return root, source, db, done.stdout


def test_ingest_json_is_the_only_stdout_and_reconciles(ingested):
    _, _, _, stdout = ingested
    report = json.loads(stdout)  # the whole of stdout is one JSON object
    for key in ("version", "discovered", "unchanged", "added", "changed", "removed", "failed", "chunks_written", "timings"):
        assert key in report
    assert report["discovered"] == report["unchanged"] + report["added"] + report["changed"] + len(report["failed"])
    assert all(set(f) == {"doc_id", "reason"} for f in report["failed"])
    assert {"extract", "chunk", "embed", "write"} <= set(report["timings"])
    counts = report["counts"]  # the accounting shape every stage reports: total / kept / dropped_<reason>
    assert counts["total"] == report["discovered"] and counts["kept"] == report["discovered"] - len(report["failed"])
    assert sum(v for k, v in counts.items() if k.startswith("dropped_")) == len(report["failed"])


def test_batch_search_prints_one_result_line_per_query(ingested):
    root, _, db, _ = ingested
    queries = root / "queries.jsonl"
    queries.write_text("\n".join(json.dumps(q) for q in [
        {"id": "q1", "text": "how long do refunds take"},
        {"id": 2, "text": "SAML identity provider metadata"},
    ]) + "\n")
    done = subprocess.run([TRIBUTARY, "search", "--queries", str(queries), "--k", "3", "--db", str(db), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["q1", 2]
    for line in lines:
        assert 0 < len(line["results"]) <= 3
        assert all(set(hit) == {"doc_id", "chunk_id", "score", "text"} for hit in line["results"])
    assert lines[0]["results"][0]["doc_id"] in {"billing.md", "report.pdf"}
    assert lines[1]["results"][0]["doc_id"] in {"security.html", "security.docx", "utf16.txt"}


@pytest.fixture(scope="module")
def cli():
    return CliRunner()


@pytest.mark.parametrize("mode", ["vector", "fts", "hybrid"])
def test_single_search_in_every_mode(ingested, cli, mode):
    _, _, db, _ = ingested
    result = cli.invoke(app, ["search", "Retry-After header 429", "--k", "2", "--db", str(db), "--mode", mode, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["version"] == "v1" and payload["mode"] == mode
    assert payload["results"][0]["doc_id"] in {"guides/limits.txt", "deck.pptx", "report.pdf"}


def test_unknown_version_and_empty_db_are_clear_errors(ingested, cli, tmp_path):
    _, _, db, _ = ingested
    missing = cli.invoke(app, ["search", "x", "--db", str(db), "--version", "v9"])
    assert missing.exit_code == 2 and "v9" in missing.output and "not found" in missing.output
    empty = cli.invoke(app, ["search", "x", "--db", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "run `tributary ingest` first" in empty.output


def test_versions_lists_the_published_version(ingested, cli):
    _, _, db, _ = ingested
    result = cli.invoke(app, ["versions", "--db", str(db), "--json"])
    rows = json.loads(result.stdout)
    assert [(row["version"], row["current"]) for row in rows] == [("v1", True)]
    assert rows[0]["failed"] == 5
