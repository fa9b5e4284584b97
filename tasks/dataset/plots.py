"""Plot data of a dataset build for ``dvc plots show``: the data card's four charts as JSON records.

The build writes JSON lists of records under ``<dataset>/plots/``: token lengths and categories
(one file a split, which DVC draws side by side in one chart), PII found by type and
duplicate-cluster sizes. ``dvc_plots`` renders the matching top-level ``plots:`` section of
``dvc.yaml`` from the same definitions (a test keeps the two equal), so each path is written once.
The files are deterministic (sorted, no timestamps) because DVC tracks them with the dataset.

Numbers stay numbers (JSON, not CSV): DVC's bar templates sort a nominal axis by value, so token
bins and cluster sizes come out in numeric order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schemas.dataset import SPLITS, DatasetManifest, SplitReport
from schemas.params import DatasetParams
from tasks.dataset.datacard import TOKEN_BINS, token_histogram

PLOTS_DIR = "plots"
"""Folder of the plot data inside a dataset folder."""

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class PlotDefinition:
    """One chart: its data files (relative to the dataset folder), axes and DVC template."""

    plot_id: str
    files: tuple[str, ...]
    template: Literal["bar_horizontal", "bar_horizontal_sorted"]
    title: str
    x: str
    y: str
    x_label: str
    y_label: str


def _per_split(stem: str) -> tuple[str, ...]:
    return tuple(f"{PLOTS_DIR}/{stem}/{split}.json" for split in SPLITS)


TOKEN_LENGTHS = PlotDefinition(
    plot_id="dataset_token_lengths",
    files=_per_split("token_lengths"),
    template="bar_horizontal",
    title="Token length per split",
    x="examples",
    y="tokens_from",
    x_label="examples",
    y_label="token length (bin start)",
)
CATEGORIES = PlotDefinition(
    plot_id="dataset_categories",
    files=_per_split("categories"),
    template="bar_horizontal_sorted",
    title="Categories per split",
    x="examples",
    y="category",
    x_label="examples",
    y_label="category",
)
PII_COUNTS = PlotDefinition(
    plot_id="dataset_pii_counts",
    files=(f"{PLOTS_DIR}/pii_counts.json",),
    template="bar_horizontal_sorted",
    title="PII found, by type",
    x="found",
    y="entity",
    x_label="entities replaced",
    y_label="type",
)
DUPLICATE_CLUSTERS = PlotDefinition(
    plot_id="dataset_duplicate_clusters",
    files=(f"{PLOTS_DIR}/duplicate_clusters.json",),
    template="bar_horizontal",
    title="Duplicate clusters, by size",
    x="clusters",
    y="size",
    x_label="clusters",
    y_label="examples in the cluster",
)
PLOTS = (TOKEN_LENGTHS, CATEGORIES, PII_COUNTS, DUPLICATE_CLUSTERS)


def token_length_rows(lengths: Sequence[int]) -> Rows:
    """One row per token bin of the data card's histogram: bin start, its label and the examples in it."""
    counts = token_histogram(lengths)
    return [
        {"tokens_from": start, "bin": label, "examples": n}
        for start, (label, n) in zip(TOKEN_BINS, counts.items(), strict=True)
    ]


def category_rows(report: SplitReport, split: str) -> Rows:
    """One row per category: the examples of ``split`` in it (every category, zeros included)."""
    return [{"category": cell.category, "examples": cell.counts[split]} for cell in report.categories]


def pii_rows(pii_counts: Mapping[str, int]) -> Rows:
    """One row per entity type: the placeholders written for it."""
    return [{"entity": entity, "found": n} for entity, n in sorted(pii_counts.items())]


def cluster_size_rows(sizes: Mapping[str, int]) -> Rows:
    """One row per cluster size (examples in the cluster): how many clusters had it."""
    return [{"size": int(size), "clusters": n} for size, n in sorted(sizes.items(), key=lambda kv: int(kv[0]))]


def plot_rows(manifest: DatasetManifest, token_lengths: Mapping[str, Sequence[int]]) -> dict[str, Rows]:
    """Every plot data file's rows, keyed by its path relative to the dataset folder."""
    rows: dict[str, Rows] = {}
    for split, path in zip(SPLITS, TOKEN_LENGTHS.files, strict=True):
        rows[path] = token_length_rows(token_lengths.get(split, []))
    for split, path in zip(SPLITS, CATEGORIES.files, strict=True):
        rows[path] = category_rows(manifest.split_report, split)
    rows[PII_COUNTS.files[0]] = pii_rows(manifest.pii_counts)
    rows[DUPLICATE_CLUSTERS.files[0]] = cluster_size_rows(manifest.duplicate_cluster_sizes)
    return rows


def write_plot_data(folder: Path, manifest: DatasetManifest, token_lengths: Mapping[str, Sequence[int]]) -> None:
    """Write the plot data files of a build under ``folder / "plots"``.

    Args:
        folder: The dataset folder (the staging folder during a build).
        manifest: The build's manifest (split report, PII counts, cluster sizes).
        token_lengths: Token count of every written example, per split.
    """
    for relative, rows in plot_rows(manifest, token_lengths).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def dvc_plots(params: DatasetParams) -> list[dict[str, Any]]:
    """The top-level ``plots:`` section of ``dvc.yaml`` for the dataset these params build."""
    dataset_dir = f"{params.out_root}/{params.name}"
    return [
        {
            plot.plot_id: {
                "template": plot.template,
                "title": plot.title,
                "x": plot.x,
                "y": {f"{dataset_dir}/{path}": plot.y for path in plot.files},
                "x_label": plot.x_label,
                "y_label": plot.y_label,
            }
        }
        for plot in PLOTS
    ]
