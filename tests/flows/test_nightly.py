"""The nightly flow end to end on tiny inputs: every branch reported, a failing branch isolated."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flows.nightly import NightlyReport, nightly, summary_markdown
from schemas.cache import CacheEntry
from schemas.params import NightlyParams, load_params
from tasks.ingest import versions
from tools.synthetic_logs import generate_logs, write_logs
from tasks.serving.store import SqliteCacheStore
from tests.documents import markdown

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
ROOT = Path(__file__).resolve().parents[2]
QUERIES = [
    ("q1", "When are invoices issued?", "billing.md"),
    ("q2", "single sign-on SAML identity provider metadata URL", "security.md"),
    ("q3", "status 429 Retry-After header", "limits.md"),
]


def nightly_params(root: Path, regression_root: Path) -> NightlyParams:
    """Every path of the nightly run inside ``root``; tiny sizes."""
    return NightlyParams.model_validate({
        "ingest": {"source_dir": str(root / "docs"), "index": {"db": str(root / "lancedb"), "docs_per_batch": 8}},
        "dataset": {"logs_dir": str(root / "logs"), "name": "nightly", "out_root": str(root / "datasets"),
                    "forget": {"deny_list": str(root / "deny_list.txt")}},
        "serving": {"cache": {"path": str(root / "cache.sqlite3")},
                    "gate": {"retrieval_set": str(root / "retrieval.jsonl"), "k": 1, "bootstrap_samples": 100,
                             "report_dir": str(root / "reports")},
                    "regression": {"name": "nightly", "out_root": str(regression_root)}},
    })


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nightly")
    (root / "docs").mkdir()
    for topic in ("billing", "security", "limits"):
        (root / "docs" / f"{topic}.md").write_text(markdown(topic), encoding="utf-8")
    write_logs(generate_logs(60, seed=5), root / "logs", files=1)
    (root / "deny_list.txt").write_text("")
    (root / "retrieval.jsonl").write_text("".join(json.dumps({"id": i, "text": t, "relevant": [d]}) + "\n" for i, t, d in QUERIES))
    return root


@pytest.fixture(scope="module")
def failed_run(workspace: Path):
    """First night: the regression sets cannot be written (their folder is a file); everything else is fine."""
    (workspace / "blocked").write_text("not a folder")
    return nightly(nightly_params(workspace, workspace / "blocked"), return_state=True)


def test_a_failing_branch_fails_the_run_but_keeps_every_other_result(failed_run, workspace):
    assert failed_run.is_failed()
    assert "regression-sets" in failed_run.message and "blocked" in failed_run.message
    report = failed_run.result(raise_on_failure=False)
    assert isinstance(report, NightlyReport)
    assert [o.name for o in report.branches] == ["ingest", "retrieval-gate", "invalidate-cache", "build-dataset", "regression-sets"]
    assert {o.name: o.status for o in report.branches} == {
        "ingest": "completed", "retrieval-gate": "completed", "invalidate-cache": "skipped",
        "build-dataset": "completed", "regression-sets": "failed",
    }
    assert "blocked" in report.branch("regression-sets").reason
    assert report.branch("invalidate-cache").reason == "no previous CURRENT"
    ingest = report.branch("ingest")
    assert ingest.counts["version"] == "v1" and ingest.items == 3 and ingest.seconds > 0
    assert report.branch("retrieval-gate").counts["action"] == "promoted"
    assert versions.read_pointer(workspace / "lancedb" / "corpus-versions" / "chunks", versions.CURRENT) == "v1"
    dataset = report.branch("build-dataset")
    assert dataset.items == 60 and dataset.counts["written"] > 0 and dataset.items_per_second > 0
    assert (workspace / "datasets" / "nightly" / "train.jsonl").exists()
    assert (workspace / "blocked").read_text() == "not a folder"


def test_the_summary_artifact_lists_every_branch(failed_run):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[failed_run.state_details.flow_run_id])))
    summary = next(a.data for a in artifacts if a.key == "nightly")
    assert summary == summary_markdown(failed_run.result(raise_on_failure=False))
    assert "| build-dataset | completed |" in summary and "| regression-sets | failed |" in summary
    assert "Failed branches: regression-sets" in summary


def test_next_night_invalidates_what_the_promoted_version_changed(failed_run, workspace):
    store = SqliteCacheStore(workspace / "cache.sqlite3")
    now = datetime.now(timezone.utc)
    for key, doc in (("k-billing", "billing.md"), ("k-limits", "limits.md")):
        store.put(CacheEntry(key=key, response="cached", model="m", corpus_version="v1", doc_ids=(doc,), created_at=now))
    store.close()
    billing = workspace / "docs" / "billing.md"
    billing.write_text(markdown("billing") + "\nInvoices can also be sent to a second email address.\n", encoding="utf-8")

    report = nightly(nightly_params(workspace, workspace / "regression"))

    assert {o.status for o in report.branches} == {"completed"}
    assert report.branch("ingest").counts["changed"] == 1
    assert report.branch("retrieval-gate").counts["action"] == "promoted"
    assert report.branch("invalidate-cache").counts == {
        "from": "v1", "to": "v2", "changed_documents": 1, "removed_documents": 0, "deleted": 1,
    }
    store = SqliteCacheStore(workspace / "cache.sqlite3")
    assert store.keys() == ["k-limits"]
    store.close()
    regression = report.branch("regression-sets")
    manifest = json.loads((workspace / "regression" / "nightly" / "manifest.json").read_text())
    assert regression.counts == manifest["counts"] and regression.items == manifest["counts"]["total"] > 0


def test_serve_registers_every_flow_with_the_nightly_one_on_its_schedule():
    """Regression: `tributary serve --ingest-cron` passed timezone= to to_deployment, which Prefect 3.9 rejects."""
    from flows.deployments import build_deployments

    deployments = build_deployments(NightlyParams(cron="30 3 * * *", timezone="Europe/Berlin"))
    assert [d.name for d in deployments] == ["ingest", "ingest-and-gate", "build-dataset", "nightly"]
    assert [d.schedules for d in deployments[:3]] == [[], [], []]
    (ingest_schedule,) = build_deployments(NightlyParams(timezone="Asia/Tokyo"), "0 4 * * 1")[0].schedules
    assert (ingest_schedule.schedule.cron, ingest_schedule.schedule.timezone) == ("0 4 * * 1", "Asia/Tokyo")
    (schedule,) = deployments[3].schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 3 * * *", "Europe/Berlin")
    form = deployments[3]._parameter_openapi_schema.model_dump()
    assert "params" in form["properties"] and "NightlyParams" in json.dumps(form)
    assert deployments[0].parameters["params"]["source_dir"] == NightlyParams().ingest.source_dir
    default = build_deployments(load_params(NightlyParams, path=ROOT / "params.yaml"))[3].schedules[0].schedule
    assert (default.cron, default.timezone) == ("0 2 * * *", "UTC")
