"""A run killed half-way (SIGKILL of a real process) publishes nothing, and the next run converges."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lancedb
import pytest
import yaml

from flows.ingest import ingest_flow
from schemas.params import IndexParams, IngestParams
from tasks.ingest import versions
from tests.documents import write_numbered_docs

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]



def table_state(db: str, version: str | None = None) -> tuple[int, set[str]]:
    table = lancedb.connect(db).open_table("chunks")
    if version:
        table.checkout(version)
    rows = table.to_arrow().select(["chunk_id"]).to_pylist()
    return table.version, {row["chunk_id"] for row in rows}


def test_killed_run_leaves_last_version_intact_and_next_run_converges(tmp_path):
    source, db = tmp_path / "docs", str(tmp_path / "lancedb")
    params = IngestParams(source_dir=str(source), index=IndexParams(db=db, docs_per_batch=2))
    write_numbered_docs(source, 40, edition=1)
    ingest_flow(params)
    root = versions.manifest_root(params.index)
    v1 = versions.read_manifest(root, "v1")
    published_version, v1_chunks = table_state(db, "v1")

    write_numbered_docs(source, 40, edition=2)  # every document changes
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"ingest": params.model_dump(mode="json")}))
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "ingest", str(source), "--db", db],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            latest = lancedb.connect(db).open_table("chunks").version
            if latest >= published_version + 6:  # several batches written, far from done
                break
            time.sleep(0.2)
        assert process.poll() is None, "the run finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):  # its temporary Prefect server too: no orphan left running
            os.killpg(process.pid, signal.SIGKILL)

    assert versions.read_pointer(root, versions.CURRENT) == "v1"
    assert versions.read_pointer(root, versions.LATEST) == "v1"
    assert not (root / "v2.json").exists()
    assert table_state(db, "v1")[1] == v1_chunks
    assert table_state(db)[1] != v1_chunks  # the kill left unpublished writes behind

    resumed = ingest_flow(params)
    assert resumed.version == "v2" and resumed.changed == 40
    clean_db = str(tmp_path / "clean")
    clean = ingest_flow(params.model_copy(update={"index": IndexParams(db=clean_db, docs_per_batch=2)}))
    assert table_state(db)[1] == table_state(clean_db)[1]
    assert versions.read_manifest(root, "v2").documents == versions.read_manifest(versions.manifest_root(IndexParams(db=clean_db)), clean.version).documents
    assert table_state(db, "v1")[1] == v1_chunks and v1.version == "v1"
