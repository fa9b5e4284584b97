"""Scale-out: the heavy tasks give the same outputs on a 2-worker Dask cluster and on Prefect's process pool.

The Dask cluster runs its workers as threads (``processes=False``): spawned worker processes cost
10-15 s each here to import torch and presidio. The process-pool test covers what a real cluster
adds, every batch and its result pickled to and from another process.
"""

from __future__ import annotations

import json
from pathlib import Path

import lancedb
import pytest
from distributed import LocalCluster
from prefect import flow

from flows.build_dataset import build_dataset
from flows.ingest import ingest_flow
from flows.nightly import submit_to_runner
from tasks.serving.prefect_tasks import build_regression_sets
from schemas.params import DatasetParams, IndexParams, IngestParams, NightlyParams, RunnerParams, ServingParams
from tasks.dataset import prefect_tasks as stages
from tools.synthetic_logs import SyntheticCorpus, write_logs
from tests.documents import folder_bytes, write_mixed_corpus

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker local Dask cluster; yields its scheduler address and the workers."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as local:
        yield local


def executed_on(cluster: LocalCluster) -> int:
    """Tasks the cluster's workers have run so far."""
    return sum(worker.state.executed_count for worker in cluster.workers.values())


@pytest.fixture(scope="module")
def logs(tmp_path_factory, corpus: SyntheticCorpus) -> Path:
    folder = tmp_path_factory.mktemp("dask-logs")
    write_logs(corpus, folder, files=2)
    return folder


@flow
def regression_sets_on_runner(logs_dir: str, serving: ServingParams, runner: RunnerParams) -> dict[str, int]:
    """The nightly run's regression-set branch alone, on the given runner."""
    heavy = {"logs_dir": logs_dir, "serving": serving, "dataset": NightlyParams().dataset}
    state = submit_to_runner(runner, build_regression_sets, heavy)
    return state.result()


def test_ingest_on_dask_writes_the_same_chunks_and_vectors(tmp_path: Path, cluster: LocalCluster) -> None:
    source = tmp_path / "docs"
    write_mixed_corpus(source)

    def ingest_on(name: str, runner: RunnerParams) -> tuple[list[tuple], dict[str, str]]:
        params = IngestParams(source_dir=str(source), index=IndexParams(db=str(tmp_path / name), docs_per_batch=2))
        report = ingest_flow(params, runner)
        assert report.published and report.chunks_written > 0
        table = lancedb.connect(params.index.db).open_table(params.index.table).to_arrow()
        rows = zip(table["chunk_id"].to_pylist(), table["text"].to_pylist(), table["vector"].to_pylist(), strict=True)
        return sorted(rows), {f.doc_id: f.reason for f in report.failed}

    threads, threads_failed = ingest_on("threads", RunnerParams(kind="threads"))
    before = executed_on(cluster)
    dask, dask_failed = ingest_on("dask", RunnerParams(kind="dask", dask_address=cluster.scheduler_address))
    documents = len(list(source.iterdir()))
    assert executed_on(cluster) - before == -(-documents // 2)  # one task a batch of 2 documents
    assert [r[:2] for r in threads] == [r[:2] for r in dask]
    assert all(
        max(abs(a - b) for a, b in zip(x[2], y[2], strict=True)) < 1e-5 for x, y in zip(threads, dask, strict=True)
    )
    assert threads_failed == dask_failed and threads_failed


def test_dataset_on_dask_and_on_processes_is_byte_identical(tmp_path: Path, logs: Path, cluster: LocalCluster, monkeypatch) -> None:
    monkeypatch.setattr(stages, "BATCH_LINES", 60)  # several batches in flight, results arrive out of order
    runners = {
        "threads": RunnerParams(kind="threads"),
        "dask": RunnerParams(kind="dask", dask_address=cluster.scheduler_address),
        "processes": RunnerParams(kind="processes", workers=2),
    }
    built = {}
    for name, runner in runners.items():
        # a pool each: every runner processes every line itself (a shared pool would serve the later ones)
        params = DatasetParams(logs_dir=str(logs), name="d", out_root=str(tmp_path), pool=str(tmp_path / name / "pool"))
        before = executed_on(cluster)
        summary = build_dataset(params, out_dir=str(tmp_path / name / "d"), runner=runner)
        assert summary.pool.processed >= summary.pool.written > 0
        if name == "dask":
            assert executed_on(cluster) - before >= 4  # one task a batch of 60 decodable lines
        built[name] = folder_bytes(tmp_path / name / "d")
        assert summary.timings["redact"].items > 0
    assert built["threads"] == built["dask"] == built["processes"]
    counts = json.loads(built["threads"]["manifest.json"])["counts"]
    assert counts["input_lines"] > 4 * 60 and counts["written"] > 0


def test_regression_sets_on_dask_are_the_same(tmp_path: Path, logs: Path, cluster: LocalCluster) -> None:
    out = {}
    for name, runner in (("threads", RunnerParams(kind="threads")), ("dask", RunnerParams(kind="dask", dask_address=cluster.scheduler_address))):
        serving = ServingParams.model_validate(
            {"regression": {"name": "set", "out_root": str(tmp_path / name)}}
        )
        before = executed_on(cluster)
        counts = regression_sets_on_runner(str(logs), serving, runner)
        assert counts["total"] > 50 and counts["kept"] > 0
        if name == "dask":
            assert executed_on(cluster) == before + 1
        out[name] = folder_bytes(tmp_path / name / "set")
    manifests = [json.loads(out[name].pop("manifest.json")) for name in ("threads", "dask")]
    assert out["threads"] == out["dask"] and manifests[0]["files"] == manifests[1]["files"]
