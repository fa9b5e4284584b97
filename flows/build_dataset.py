"""Prefect flow: interaction logs -> validated, redacted, deduplicated, split, versioned chat dataset.

Wiring only: which tasks, in what order. The stages live in ``tasks/dataset``; the parameters are
``DatasetParams`` (from ``params.yaml``'s ``dataset`` section), so the Prefect UI renders a form.
"""

import re
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from schemas.dataset import SPLITS, BuildSummary
from schemas.params import DatasetParams
from tasks.dataset import stages
from tasks.dataset.version import inside_dvc_stage

DEFAULT_PARAMS = DatasetParams()
"""The model defaults, equal to params.yaml's ``dataset`` section (a test keeps them equal)."""


def summary_markdown(summary: BuildSummary, stage_lines: list[str]) -> str:
    """The run's artifact: the accounting, the splits and a link to the data card."""
    card = Path(summary.data_card).resolve().as_uri()
    return "\n".join(
        [
            f"# Dataset `{summary.name}` version `{summary.version}`",
            "",
            "| input lines | written | rejected | filtered | duplicates | malformed |",
            "|---|---|---|---|---|---|",
            f"| {summary.input_lines} | {summary.written} | {summary.rejected} | {summary.filtered} | "
            f"{summary.duplicates} | {summary.malformed} |",
            "",
            "Splits: " + ", ".join(f"{s} {summary.splits[s]}" for s in SPLITS),
            "",
            "Stages: " + "; ".join(stage_lines),
            "",
            f"[Data card]({card}) - folder `{summary.out_dir}`",
        ]
    )


@flow(name="build-dataset", log_prints=False)
def build_dataset(params: DatasetParams = DEFAULT_PARAMS, out_dir: str | None = None) -> BuildSummary:
    """Build the fine-tuning dataset described by ``params``.

    Args:
        params: The ``dataset`` params (logs folder, name, selection, validation, redaction,
            dedupe, split, forget, publish).
        out_dir: Output folder; default ``<out_root>/<name>``.

    Returns:
        The build summary (also what ``tributary build-dataset --json`` prints).
    """
    logger = get_run_logger()
    target = Path(out_dir) if out_dir else Path(params.out_root) / params.name
    extracted = stages.extract_examples(Path(params.logs_dir), params, stages.load_deny_list(params))
    valid, invalid, validate_report = stages.validate_examples(extracted.examples, params)
    redacted, pii_counts, redact_report = stages.redact_examples(valid, params)
    unique, duplicates, clusters, dedupe_report = stages.dedupe_examples(redacted, params)
    splits, split_rep = stages.split_examples(unique, params)
    leakage = stages.check_split_leakage(unique, splits, params)
    reports = [*extracted.reports, validate_report, redact_report, dedupe_report]
    result = stages.write_dataset(
        target,
        params,
        unique,
        splits,
        extracted.rejects + invalid + duplicates,
        clusters,
        reports,
        split_rep,
        leakage,
        pii_counts,
        extracted.sources,
        extracted.input_lines,
    )
    pushed = False
    if params.publish.push and not inside_dvc_stage():
        pushed = stages.push_dataset(Path.cwd(), params.publish.remote)
    m = result.manifest
    summary = BuildSummary(
        name=m.name,
        version=m.version,
        **m.counts.model_dump(),
        splits=m.splits,
        **m.splits,
        out_dir=str(result.out_dir),
        data_card=str(result.data_card),
        pushed=pushed,
    )
    stage_lines = [f"{r.stage} " + " ".join(f"{k}={v}" for k, v in r.as_flat().items()) for r in reports]
    for line in stage_lines:
        logger.info(line)
    create_markdown_artifact(
        markdown=summary_markdown(summary, stage_lines),
        key=re.sub(r"[^a-z0-9-]+", "-", f"dataset-{m.name}".lower()),
        description=f"Dataset {m.name} {m.version}",
    )
    return summary
