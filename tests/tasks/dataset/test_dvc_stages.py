"""The DVC side of the dataset build: dvc.yaml's plots and metrics, and params that re-run only their stages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from schemas.dataset import SPLITS, DatasetManifest
from schemas.params import DatasetParams, load_params
from tasks.dataset.datacard import token_histogram
from tasks.dataset.plots import (
    CATEGORIES,
    DUPLICATE_CLUSTERS,
    PII_COUNTS,
    PLOTS,
    TOKEN_LENGTHS,
    cluster_size_rows,
    dvc_plots,
    token_length_rows,
)
from tools.synthetic_logs import SyntheticCorpus, write_logs
from tasks.dataset.version import METRICS_FILE, STAGE

ROOT = Path(__file__).resolve().parents[3]
COPIED = ("cli", "flows", "tasks", "schemas", "tools", "data/sample", "data/forget", "dvc.yaml", "params.yaml")
"""What a temporary repo takes from this one: the code, the samples, the deny-list, dvc.yaml and params.yaml."""
DVC = [sys.executable, "-m", "dvc"]


def test_dvc_yaml_plots_are_rendered_from_params() -> None:
    document = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert document["plots"] == dvc_plots(load_params(DatasetParams, path=ROOT / "params.yaml"))


def test_plot_rows_keep_numbers_in_numeric_order() -> None:
    """DVC's bar templates sort the y axis by value: labels such as "128-255" would sort before "64-127"."""
    rows = token_length_rows([3, 70, 70, 5000])
    assert [r["tokens_from"] for r in rows] == [0, 64, 128, 256, 512, 1024, 2048, 4096]
    assert [r["examples"] for r in rows] == [1, 2, 0, 0, 0, 0, 0, 1] and rows[1]["bin"] == "64-127"
    assert cluster_size_rows({"10": 1, "2": 4}) == [{"size": 2, "clusters": 4}, {"size": 10, "clusters": 1}]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory: pytest.TempPathFactory, prefect_harness, corpus: SyntheticCorpus) -> Path:
    """A git + DVC copy of this repo, its logs replaced by the shared corpus, every stage in ``dvc.lock``.

    build_dataset runs for real (``dvc repro``). The other stages would load the embedding model or
    redact the logs once more, so ``dvc commit`` records them over placeholder outputs: what
    ``dvc status`` reports from then on is what changed since, never "this stage has not run yet".
    """
    from dvc.repo import Repo
    from prefect.settings import PREFECT_API_URL

    repo = tmp_path_factory.mktemp("dvc") / "repo"
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, repo / name)
    logs_dir = repo / load_params(DatasetParams, path=repo / "params.yaml").logs_dir
    shutil.rmtree(logs_dir)
    write_logs(corpus, logs_dir, files=2)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTHONPATH", None)
    _run(["git", "init", "-q"], repo, env)
    _run(["git", "config", "user.email", "test@example.com"], repo, env)
    _run(["git", "config", "user.name", "test"], repo, env)
    _run([*DVC, "init", "-q"], repo, env)
    with Repo(str(repo)) as dvc:
        stubbed = [stage for stage in dvc.index.stages if stage.name != STAGE]
        for out in (out for stage in stubbed for out in stage.outs):
            Path(out.fs_path).parent.mkdir(parents=True, exist_ok=True)
            Path(out.fs_path).write_text("{}\n")  # a file, even where a folder is expected
    # first: build_dataset depends on build_regression's output (the sets decontamination reads)
    _run([*DVC, "commit", "--force", *(stage.name for stage in stubbed)], repo, env)
    _run([*DVC, "repro", STAGE], repo, env)
    return repo


def _dataset_dir(repo: Path) -> Path:
    params = load_params(DatasetParams, path=repo / "params.yaml")
    return repo / params.out_root / params.name


def _manifest(repo: Path) -> DatasetManifest:
    return DatasetManifest.model_validate_json((_dataset_dir(repo) / "manifest.json").read_text())


def _values_by_file(plot: dict, x: str, y: str) -> dict[str, dict]:
    """``{data file: {y: x}}`` of one plot of ``dvc plots show --json`` (single-file plots: key ``None``)."""
    values: dict[str, dict] = {}
    for row in plot["content"]["data"]["values"]:
        values.setdefault(row.get("filename"), {})[row[y]] = row[x]
    return values


@pytest.mark.slow
def test_dvc_plots_show_renders_the_data_cards_charts(dvc_repo: Path, tmp_path: Path) -> None:
    manifest = _manifest(dvc_repo)
    shown = json.loads(_run([*DVC, "plots", "show", "--json"], dvc_repo))
    assert not shown.get("errors")
    plots = {plot_id: items[0] for plot_id, items in shown["data"].items()}
    assert set(plots) == {p.plot_id for p in PLOTS}
    for definition in PLOTS:
        content = plots[definition.plot_id]["content"]
        assert content["title"]["text"] == definition.title
        assert content["encoding"]["x"]["title"] == definition.x_label
        assert content["encoding"]["y"]["title"] == definition.y_label

    tokens = _values_by_file(plots[TOKEN_LENGTHS.plot_id], "examples", "tokens_from")
    categories = _values_by_file(plots[CATEGORIES.plot_id], "examples", "category")
    for split in SPLITS:
        lengths = pq.read_table(_dataset_dir(dvc_repo) / f"{split}.parquet", columns=["token_count"]).column(0).to_pylist()
        assert list(tokens[f"{split}.json"].values()) == list(token_histogram(lengths).values())
        assert categories[f"{split}.json"] == {c.category: c.counts[split] for c in manifest.split_report.categories}
        assert sum(categories[f"{split}.json"].values()) == manifest.splits[split] > 0
    assert _values_by_file(plots[PII_COUNTS.plot_id], "found", "entity") == {None: manifest.pii_counts}
    clusters = _values_by_file(plots[DUPLICATE_CLUSTERS.plot_id], "clusters", "size")[None]
    assert {str(size): n for size, n in clusters.items()} == manifest.duplicate_cluster_sizes
    assert manifest.pii_counts and manifest.duplicate_cluster_sizes

    _run([*DVC, "plots", "show", "-o", str(tmp_path / "html")], dvc_repo)
    page = (tmp_path / "html" / "index.html").read_text()
    assert all(json.dumps(p.title) in page for p in PLOTS)


@pytest.mark.slow
def test_dvc_metrics_show_lists_the_build_counts(dvc_repo: Path) -> None:
    manifest = _manifest(dvc_repo)
    shown = json.loads(_run([*DVC, "metrics", "show", "--json"], dvc_repo))
    [workspace] = shown.values()  # one revision: the workspace of a repo without commits
    metrics = workspace["data"][METRICS_FILE]["data"]
    assert {k: metrics[k] for k in manifest.counts.model_dump()} == manifest.counts.model_dump()
    assert metrics["splits"] == manifest.splits and metrics["version"] == manifest.version


@pytest.mark.slow
def test_a_param_change_reruns_only_the_stages_that_read_it(dvc_repo: Path) -> None:
    params_file = dvc_repo / "params.yaml"
    original = params_file.read_text()

    def status_after(key: str, value: object) -> dict:
        """``dvc status --json`` with the dotted ``key`` of params.yaml set to ``value`` (added if absent)."""
        document = yaml.safe_load(original)
        *parents, leaf = key.split(".")
        section = document
        for name in parents:
            if section.get(name) is None:
                section[name] = {}
            section = section[name]
            if not isinstance(section, dict):
                raise AssertionError(f"{key}: {name} is not a section")
        assert section.get(leaf) != value
        section[leaf] = value
        params_file.write_text(yaml.safe_dump(document, sort_keys=False))
        try:
            return json.loads(_run([*DVC, "status", "--json"], dvc_repo))
        finally:
            params_file.write_text(original)

    def changed(stage: str, param: str) -> dict:
        return {stage: [{"changed deps": {"params.yaml": {param: "modified"}}}]}

    assert json.loads(_run([*DVC, "status", "--json"], dvc_repo)) == {}
    assert status_after("dataset.dedupe.threshold", 0.7) == changed("build_dataset", "dataset")
    assert status_after("serving.regression.max_per_stratum", 40) == changed("build_regression", "serving.regression")
    assert status_after("dataset.redact.score_threshold", 0.5) == {
        **changed("build_dataset", "dataset"),
        **changed("build_regression", "dataset.redact"),
    }
    assert status_after("serving.gate.k", 5) == changed("evaluate", "serving.gate")
    assert status_after("ingest.chunk.min_tokens", 12) == changed("ingest", "ingest")
    assert status_after("nightly.cron", "0 3 * * *") == {}
