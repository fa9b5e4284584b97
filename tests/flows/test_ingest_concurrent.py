"""Two `tributary ingest` runs on one table never interleave; a run killed holding the lock blocks nobody.

Pins issue 10: two runs started 2 s apart both published `v1`, the second deleting and rewriting
the first one's chunks, with nothing to stop a rollback or a delete landing in the middle of the
other's writes.
"""

from __future__ import annotations

import json
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
from tasks.ingest.lock import read_holder, table_lock
from tests.documents import write_numbered_docs

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
TABLE = "shared"
DOCS = 24
"""Documents a run writes, a batch each, under the lock."""
LOCKED = "is locked by another ingest"


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.1)



def start_ingest(workdir: Path, source: Path, db: str, name: str) -> tuple[subprocess.Popen, Path]:
    """A real `tributary ingest --json` process on the shared table, talking to the test's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    stderr = workdir / f"{name}.stderr"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "ingest", str(source), "--db", db, "--table", TABLE, "--json"],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr.open("w"), text=True,
    )
    return process, stderr


def finish(process: subprocess.Popen, stderr: Path) -> tuple[int, dict | None, str]:
    stdout, _ = process.communicate(timeout=600)
    return process.returncode, json.loads(stdout) if stdout.strip() else None, stderr.read_text()


def write_params(workdir: Path, index: IndexParams) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "params.yaml").write_text(yaml.safe_dump({"ingest": IngestParams(index=index).model_dump(mode="json")}))


def chunk_ids_at(db: str, tag: str | int | None = None) -> list[str]:
    table = lancedb.connect(db).open_table(TABLE)
    if tag is not None:
        table.checkout(tag)
    return sorted(row["chunk_id"] for row in table.to_arrow().select(["chunk_id"]).to_pylist())


def assert_every_manifest_matches_its_tagged_version(db: str, root: Path) -> list[str]:
    """Every published manifest's chunks are exactly its tagged table version's rows; returns the version names."""
    chain = versions.list_manifests(root)
    table = lancedb.connect(db).open_table(TABLE)
    for manifest in chain:
        assert table.tags.get_version(manifest.version) == manifest.table_version
        expected = sorted(chunk for entry in manifest.documents.values() for chunk in entry.chunk_ids)
        assert chunk_ids_at(db, manifest.version) == expected and len(expected) == manifest.chunk_count
    names = [manifest.version for manifest in chain]
    assert len(names) == len(set(names))
    return names


def test_two_ingests_started_at_once_take_turns_and_a_third_converges(tmp_path):
    db = str(tmp_path / "lancedb")
    index = IndexParams(db=db, table=TABLE, docs_per_batch=1)
    write_params(tmp_path, index)
    first, second = tmp_path / "first", tmp_path / "second"
    write_numbered_docs(first, DOCS, edition=1)
    write_numbered_docs(second, DOCS, edition=2)  # the same documents, every one changed

    with table_lock(index):  # held here until both runs wait for it, so they meet at the lock whatever their start-up takes
        runs = [start_ingest(tmp_path, first, db, "first"), start_ingest(tmp_path, second, db, "second")]
        wait_until(lambda: all(LOCKED in stderr.read_text() for _, stderr in runs), 300, "both runs to wait for the lock")
    (code_a, report_a, err_a), (code_b, report_b, err_b) = (finish(*run) for run in runs)
    assert code_a == 0, err_a[-3000:]
    assert code_b == 0, err_b[-3000:]

    assert sorted([report_a["version"], report_b["version"]]) == ["v1", "v2"]
    later = report_a if report_a["version"] == "v2" else report_b
    assert later["published"] and later["changed"] == DOCS and later["added"] == 0  # planned on top of v1, not beside it
    root = versions.manifest_root(index)
    assert assert_every_manifest_matches_its_tagged_version(db, root) == ["v1", "v2"]
    assert versions.read_manifest(root, "v2").parent_version == "v1"

    final = second if later is report_b else first
    third = ingest_flow(IngestParams(source_dir=str(final), index=index))
    assert not third.published  # v2 already is that source
    clean_db = str(tmp_path / "clean")
    clean_index = IndexParams(db=clean_db, table=TABLE, docs_per_batch=1)
    clean = ingest_flow(IngestParams(source_dir=str(final), index=clean_index))
    assert chunk_ids_at(db, "v2") == chunk_ids_at(clean_db, clean.version) == chunk_ids_at(db)
    assert versions.read_manifest(root, "v2").documents == versions.read_manifest(versions.manifest_root(clean_index), clean.version).documents


def test_in_fail_mode_a_run_on_a_held_table_is_refused_naming_the_holder(tmp_path):
    db = str(tmp_path / "lancedb")
    index = IndexParams(db=db, table=TABLE, docs_per_batch=1, lock="fail")
    write_params(tmp_path, index)
    source = tmp_path / "docs"
    write_numbered_docs(source, DOCS, edition=1)
    with table_lock(index):  # this process holds the table, as another run's would
        code, report, refusal = finish(*start_ingest(tmp_path, source, db, "refused"))
    assert code == 2 and report is None, refusal[-2000:]
    assert f"table '{TABLE}' is being ingested by another run (pid {os.getpid()} on " in refusal
    assert versions.list_manifests(versions.manifest_root(index)) == []  # it wrote nothing
    code, report, stderr = finish(*start_ingest(tmp_path, source, db, "after"))  # released: the next run goes ahead
    assert code == 0 and report["version"] == "v1", stderr[-2000:]
    assert assert_every_manifest_matches_its_tagged_version(db, versions.manifest_root(index)) == ["v1"]


def test_a_run_killed_while_holding_the_lock_does_not_block_the_next(tmp_path):
    db = str(tmp_path / "lancedb")
    index = IndexParams(db=db, table=TABLE, docs_per_batch=1, lock="fail")
    write_params(tmp_path, index)
    source = tmp_path / "docs"
    write_numbered_docs(source, 12, edition=1)
    process, _ = start_ingest(tmp_path, source, db, "killed")
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            holder = read_holder(index)
            table_dir = Path(db) / f"{TABLE}.lance"
            if holder and holder.pid == process.pid and table_dir.exists() and lancedb.connect(db).open_table(TABLE).version >= 3:
                break  # holding the lock, some batches written, far from done
            time.sleep(0.2)
        assert process.poll() is None, "the run finished before it could be killed"
        assert read_holder(index).released_at is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert not (versions.manifest_root(index) / "v1.json").exists()

    resumed = ingest_flow(IngestParams(source_dir=str(source), index=index))  # fail mode: a stale lock would refuse
    assert resumed.published and resumed.version == "v1" and resumed.added == 12
    assert read_holder(index).pid == os.getpid() and read_holder(index).released_at is not None
    assert assert_every_manifest_matches_its_tagged_version(db, versions.manifest_root(index)) == ["v1"]
