"""`tributary ingest` re-runs: an unchanged one answers without a flow run or a table write; any
change, a forced run or unpublished writes to roll back still go through the flow."""

from __future__ import annotations

import json
from pathlib import Path

import lancedb
import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from typer.testing import CliRunner

from cli.app import full_app
from tests.documents import plain_text, write_mixed_corpus

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
app = full_app()


def ingest_flow_runs() -> int:
    """Flow runs of the ``ingest`` flow recorded by the test harness's Prefect API."""
    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["ingest"])), limit=200))


def table_state(db: Path) -> tuple[int, list[str]]:
    """The chunks table's newest version and its version files: any write changes them."""
    table = lancedb.connect(str(db)).open_table("chunks")
    return table.version, sorted(path.name for path in (db / "chunks.lance" / "_versions").iterdir())


def manifest_files(db: Path) -> dict[str, str]:
    """Every file of the table's manifest folder (manifests and pointers) but the lock's, with its text."""
    root = db / "corpus-versions" / "chunks"
    return {path.name: path.read_text() for path in sorted(root.iterdir()) if not path.name.startswith(".ingest.lock")}


def ingest(source: Path, db: Path, *extra: str) -> tuple[dict, str]:
    """One `tributary ingest --json` in this process; returns its JSON report and its stderr."""
    result = CliRunner().invoke(app, ["ingest", str(source), "--db", str(db), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def without_timings(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "timings"}


@pytest.fixture()
def published(tmp_path):
    """A mixed corpus (good files and failing ones) ingested once through the CLI: v1."""
    source, db = tmp_path / "docs", tmp_path / "lancedb"
    write_mixed_corpus(source)
    first, _ = ingest(source, db)
    assert first["published"] and first["version"] == "v1"
    return source, db, first


def test_unchanged_rerun_reports_unchanged_without_a_flow_run_or_a_table_write(published):
    source, db, first = published
    runs, state, manifests = ingest_flow_runs(), table_state(db), manifest_files(db)
    report, stderr = ingest(source, db)
    assert report["version"] == "v1" and not report["published"]
    assert report["unchanged"] == first["added"] and report["added"] == report["changed"] == report["removed"] == 0
    assert report["failed"] == first["failed"] and report["counts"] == first["counts"]
    assert report["chunks_written"] == report["chunks_deleted"] == 0 and set(report["timings"]) == {"discover", "lock-wait", "plan"}
    assert "no flow run created" in stderr
    assert ingest_flow_runs() == runs  # nothing recorded in Prefect
    assert table_state(db) == state and manifest_files(db) == manifests  # no table version, no manifest written

    forced, forced_stderr = ingest(source, db, "--force-flow")  # the flow's own answer is the same report
    assert ingest_flow_runs() == runs + 1 and "no flow run created" not in forced_stderr
    assert without_timings(forced) == without_timings(report)
    assert table_state(db) == state and manifest_files(db) == manifests


def test_a_changed_file_goes_through_the_flow(published):
    source, db, _ = published
    runs = ingest_flow_runs()
    (source / "guides" / "limits.txt").write_text(plain_text("limits") + "\nA new paragraph about burst limits.\n")
    report, stderr = ingest(source, db)
    assert report["published"] and report["version"] == "v2" and report["changed"] == 1 and report["chunks_written"] > 0
    assert ingest_flow_runs() == runs + 1 and "no flow run created" not in stderr


def test_unpublished_writes_send_an_unchanged_rerun_through_the_flow_which_rolls_them_back(published):
    """Pins that the shortcut never skips the flow's rollback of a killed run's writes."""
    source, db, _ = published
    table = lancedb.connect(str(db)).open_table("chunks")
    published_version = table.version
    table.delete("doc_id = 'billing.md'")  # what a run killed between its writes and its publish leaves
    runs = ingest_flow_runs()
    report, stderr = ingest(source, db)
    assert not report["published"] and report["version"] == "v1"
    assert ingest_flow_runs() == runs + 1 and "no flow run created" not in stderr
    restored = lancedb.connect(str(db)).open_table("chunks")
    assert restored.version > published_version and restored.count_rows("doc_id = 'billing.md'") > 0
