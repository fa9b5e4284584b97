"""The dataset commands of the ``tributary`` CLI: validate, redact, dedupe, build-dataset, forget,
generate-logs. ``python -m cli.dataset`` runs them alone (the DVC stage does, so it does not
import the other command groups).

With ``--json`` stdout carries only the JSON; progress and logs go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import DaskAddressOption, ParamsOption, RunnerOption, WorkersOption, fail, params_or_fail, runner_params
from schemas.params import DatasetParams


def _params(path: Path | None, overrides: dict[str, Any] | None = None) -> DatasetParams:
    return params_or_fail(DatasetParams, overrides, path)


def _emit(record: Any) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def _note(message: str) -> None:
    typer.echo(message, err=True)


def _counts(stage: str, flat: dict[str, int], extra: dict[str, int] | None = None) -> str:
    """``stage: total=.. kept=.. dropped_<reason>=..`` (then ``extra``), the line each command ends with."""
    items = {**flat, **dict(sorted((extra or {}).items()))}
    return f"{stage}: " + " ".join(f"{k}={v}" for k, v in items.items())


def validate_command(
    in_file: Annotated[Path, typer.Option("--in", exists=True, dir_okay=False, help="Chat JSONL file.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON verdict a line on stdout.")] = False,
    params_file: ParamsOption = None,
) -> None:
    """Validate a chat fine-tuning JSONL file: format checks and quality gates, one verdict a line."""
    from tasks.common.accounting import Accounting
    from tasks.dataset.tokens import count_tokens
    from tasks.dataset.validate import validate_jsonl

    params = _params(params_file).validation
    acc = Accounting()
    for verdict in validate_jsonl(in_file, params, count_tokens, acc):
        if as_json:
            _emit(verdict)
        elif not verdict["valid"]:
            typer.echo(f"{in_file}:{verdict['line']}: " + ", ".join(e["code"] for e in verdict["errors"]))
    _note(_counts("validate", acc.ledger.flat("validate")))


def redact_command(
    in_file: Annotated[Path, typer.Option("--in", exists=True, dir_okay=False, help="JSONL file.")],
    out_file: Annotated[Path, typer.Option("--out", dir_okay=False, help="Where to write the redacted JSONL.")],
    field: Annotated[str, typer.Option("--field", help="Field to redact: a string, strings or chat messages.")],
    entities: Annotated[str | None, typer.Option(help="Comma-separated presidio entities (default: params).")] = None,
    params_file: ParamsOption = None,
) -> None:
    """Redact PII in one field of any JSONL file, keeping every other field and the line order.

    A line that is not a JSON object is written as ``{"_redact_error": reason, "_line": n}``: its
    text may hold personal data, so it is never copied through.
    """
    from tasks.common.accounting import Accounting
    from tasks.pii.fields import STAGE, redact_jsonl_field

    params = _params(params_file).redact
    if entities:
        params = params.model_copy(update={"entities": [e.strip() for e in entities.split(",") if e.strip()]})
    acc = Accounting()
    found = redact_jsonl_field(in_file, out_file, field, params, acc)
    _note(_counts("redact", acc.ledger.flat(STAGE), found))


def dedupe_command(
    in_file: Annotated[Path, typer.Option("--in", exists=True, dir_okay=False, help="JSONL file.")],
    field: Annotated[str, typer.Option("--field", help="Field compared: a string, strings or chat messages.")],
    out_file: Annotated[Path, typer.Option("--out", dir_okay=False, help="Kept lines (JSONL).")],
    clusters_file: Annotated[Path, typer.Option("--clusters", dir_okay=False, help="Cluster report (JSONL).")],
    threshold: Annotated[float, typer.Option(min=0.01, max=1.0, help="Near-duplicate Jaccard threshold.")] = 0.8,
    shingle_size: Annotated[int, typer.Option(min=1, help="Words per shingle.")] = 3,
    num_perm: Annotated[int, typer.Option(min=16, help="MinHash permutations.")] = 128,
    method: Annotated[
        str, typer.Option(help="exact, minhash (near and contained copies), semantic (embeddings) or all.")
    ] = "minhash",
    containment: Annotated[float, typer.Option(min=0.01, max=1.0, help="Shingle containment of a copied excerpt.")] = 0.8,
    semantic_threshold: Annotated[float, typer.Option(min=0.01, max=1.0, help="Cosine of a semantic copy.")] = 0.95,
) -> None:
    """Remove duplicates of a JSONL file (--method), keeping the first occurrence of each cluster."""
    from tasks.common.accounting import Accounting
    from tasks.dataset.dedupe_file import METHODS, READ_STAGE, STAGE, dedupe_jsonl

    acc = Accounting()
    methods = {"all": METHODS, "minhash": ("exact", "minhash")}.get(method, (method,))
    if not set(methods) <= set(METHODS):
        typer.echo(f"error: --method must be exact, minhash, semantic or all, not {method!r}", err=True)
        raise typer.Exit(2)
    dedupe_jsonl(in_file, field, out_file, clusters_file, acc, threshold, num_perm, shingle_size, methods,
                 containment, semantic_threshold)
    _note(_counts("dedupe", acc.ledger.flat_over((READ_STAGE, STAGE))))


def build_dataset_command(
    logs: Annotated[Path | None, typer.Option("--logs", file_okay=False, help="Logs folder (default: params).")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Dataset to build (default: every dataset of dataset.datasets, else params' name).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", file_okay=False, help="Output folder (default data/datasets/NAME); with several datasets, OUT/NAME."),
    ] = None,
    pool: Annotated[
        str | None, typer.Option("--pool", help="Example pool folder (default: params, else data/datasets/_pool).")
    ] = None,
    push: Annotated[
        bool | None, typer.Option("--push/--no-push", help="Push to the DVC remote (default: params).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    params_file: ParamsOption = None,
    runner: RunnerOption = None,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Build fine-tuning datasets from interaction logs through the example pool (runs the Prefect flow).

    Each log line is processed once: lines already in the pool reuse its row. With several datasets
    in ``dataset.datasets`` and no ``--name``, all are built from one pool update; ``--json`` then
    prints ``{"datasets": {NAME: summary}}``.
    """
    from flows.build_dataset import build_dataset

    task_runner = runner_params(runner, workers, dask_address, params_file)
    overrides = {"logs_dir": str(logs) if logs else None, "publish": {"push": push}, "pool": pool}
    params = _params(params_file, overrides)
    if not Path(params.logs_dir).is_dir():
        fail(f"logs folder not found: {params.logs_dir}")
    names = [name] if name else params.dataset_names()
    try:
        every = [params.for_dataset(n) for n in names]
    except KeyError as error:
        fail(str(error.args[0]))
    summaries = []
    for one in every:
        target = None if out is None else str(out if len(every) == 1 else out / one.name)
        with contextlib.redirect_stdout(sys.stderr):
            summaries.append(build_dataset(params=one, out_dir=target, runner=task_runner))
    if as_json:
        if len(summaries) == 1:
            _emit(summaries[0].model_dump(mode="json"))
        else:
            _emit({"datasets": {s.name: s.model_dump(mode="json") for s in summaries}})
        return
    for summary in summaries:
        reused = f" pool: reused={summary.pool.reused} processed={summary.pool.processed}" if summary.pool else ""
        typer.echo(
            f"{summary.name} {summary.version}: input_lines={summary.input_lines} written={summary.written} "
            f"rejected={summary.rejected} filtered={summary.filtered} duplicates={summary.duplicates} "
            f"malformed={summary.malformed} train={summary.train} val={summary.val} test={summary.test}{reused}\n"
            f"data card: {summary.data_card}"
        )


def forget_command(
    user_id: Annotated[str, typer.Option("--user-id", help="The user to forget.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object.")] = False,
    params_file: ParamsOption = None,
) -> None:
    """Put a user on the deny-list (later builds exclude them) and list the versions that contained them."""
    from tasks.dataset.forget import forget_user

    params = _params(params_file)
    outcome = forget_user(user_id, Path(params.forget.deny_list), Path(params.out_root), params.forget.user_hash_salt)
    record = {
        "user_hash": outcome.user_hash,
        "added": outcome.added,
        "deny_list": params.forget.deny_list,
        "versions": outcome.versions,
    }
    if as_json:
        _emit(record)
        return
    typer.echo(f"user {outcome.user_hash} {'added to' if outcome.added else 'already on'} {params.forget.deny_list}")
    for version in outcome.versions:
        typer.echo(f"  contained in {version['name']} {version['version']}")
    if outcome.versions:
        typer.echo("Rebuild (tributary build-dataset or dvc repro) to publish versions without them.")


def lineage_command(
    example_id: Annotated[str | None, typer.Argument(help="An example id (as in a split file or lineage.jsonl).")] = None,
    request_id: Annotated[str | None, typer.Option("--request-id", help="Look a request id up instead.")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Example pool folder (default: params).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print everything found as one JSON object.")] = False,
    params_file: ParamsOption = None,
) -> None:
    """Where an example came from: its raw log line (file:line, and the line while the log exists), its
    pool row, and every dataset version that holds it."""
    from tasks.dataset.lineage import lineage

    if not example_id and not request_id:
        fail("give an EXAMPLE_ID or --request-id")
    params = _params(params_file, {"pool": pool})
    found = lineage(Path(params.pool_uri), Path(params.out_root), Path(params.logs_dir), example_id, request_id)
    if not found["rows"] and not found["versions"]:
        fail(f"nothing known of {example_id or request_id} in the pool {params.pool_uri} or the dataset registry")
    if as_json:
        _emit(found)
        return
    for raw in found["raw"]:
        typer.echo(f"raw line {raw['source']}:{raw['line']}" + ("" if raw["present"] else " (no longer in the logs)"))
        if raw["present"]:
            typer.echo(f"  {raw['content']}")
    for row in found["rows"]:
        typer.echo(f"pool row {row['line_hash'][:16]} outcome={row['outcome']} example_id={row['example_id']} "
                   f"request_id={row['request_id']} category={row['category']} model={row['model']}")
    for version in found["versions"]:
        typer.echo(f"in dataset {version['name']} version {version['version']}")


def generate_logs_command(
    out: Annotated[Path, typer.Option("--out", file_okay=False, help="Folder to write the logs to.")],
    lines: Annotated[int, typer.Option(min=1, help="Lines to generate.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    files: Annotated[int, typer.Option(min=1, help="Files (the last gzipped, with a corrupted member).")] = 2,
) -> None:
    """Generate realistic synthetic interaction logs (PII, duplicates, refusals, bad lines)."""
    from tools.synthetic_logs import generate_logs, write_logs

    paths = write_logs(generate_logs(lines, seed=seed), out, files=files)
    for path in paths:
        typer.echo(str(path))


COMMANDS = {
    "validate": validate_command,
    "redact": redact_command,
    "dedupe": dedupe_command,
    "build-dataset": build_dataset_command,
    "forget": forget_command,
    "lineage": lineage_command,
    "generate-logs": generate_logs_command,
}

if __name__ == "__main__":
    from cli.app import make_app

    make_app(COMMANDS)()
