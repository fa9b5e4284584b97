"""Scale-out: the nightly run's heavy task gives the same outputs on a 2-worker Dask cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distributed import LocalCluster
from prefect import flow

from flows.nightly import build_regression_sets, submit_to_runner
from schemas.params import NightlyParams
from tasks.dataset.synthetic_logs import generate_logs, write_logs

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@flow
def regression_sets_on_runner(params: NightlyParams) -> dict[str, int]:
    """The nightly run's regression-set branch alone, on the configured runner."""
    state = submit_to_runner(params, build_regression_sets, {"serving": params.serving, "redact": params.dataset.redact})
    return state.result()


def params_for(root: Path, out: str, **runner) -> NightlyParams:
    return NightlyParams.model_validate({
        **runner, "serving": {"logs_dir": str(root / "logs"), "regression": {"name": "set", "out_root": str(root / out)}},
    })


def test_a_two_worker_cluster_gives_the_same_regression_sets_as_the_default_runner(tmp_path):
    write_logs(generate_logs(60, seed=8), tmp_path / "logs", files=2)
    local = regression_sets_on_runner(params_for(tmp_path, "local"))
    # threads, not processes: spawned worker processes cost ~10 s each to import torch and presidio here
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = regression_sets_on_runner(params_for(tmp_path, "dask", runner="dask", dask_address=cluster.scheduler_address))
        ran_on_workers = sum(len(worker.data) + worker.state.executed_count for worker in cluster.workers.values())
    assert ran_on_workers >= 1
    assert local == on_dask and local["total"] > 50 and local["kept"] > 0
    for name in ("cases.jsonl", "retrieval.jsonl"):
        assert (tmp_path / "local" / "set" / name).read_bytes() == (tmp_path / "dask" / "set" / name).read_bytes()
    manifests = [json.loads((tmp_path / out / "set" / "manifest.json").read_text()) for out in ("local", "dask")]
    assert manifests[0]["files"] == manifests[1]["files"]
