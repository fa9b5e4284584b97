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
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.options import DaskAddressOption, ParamsOption, RunnerOption, WorkersOption, fail, params_or_fail, runner_params
from schemas.params import DatasetParams

if TYPE_CHECKING:
    from schemas.forget import ForgetReport


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
    from tasks.common.flow_api import ApiStartError, serving, temporary_api

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
    with temporary_api() as api:  # its boot overlaps the flow's imports (presidio, spaCy)
        from flows.build_dataset import build_dataset

        try:
            with serving(api):
                for one in every:
                    target = None if out is None else str(out if len(every) == 1 else out / one.name)
                    with contextlib.redirect_stdout(sys.stderr):
                        summaries.append(build_dataset(params=one, out_dir=target, runner=task_runner))
        except ApiStartError as error:
            fail(str(error))
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


def _forget_summary(report: ForgetReport) -> list[str]:
    """The readable lines of a forget report, one kind a line."""
    cache = report.cache_entries
    lines = [
        f"user {report.user_hash}: {'added to' if report.deny_list else 'already on'} the deny-list {report.deny_list_path}",
        "pool rows: " + ("no pool" if report.pool_rows is None else f"{report.pool_rows} removed"),
        "cache entries removed: " + ", ".join(
            f"{kind} {'not present' if n is None else n}" for kind, n in cache.items()),
    ]
    for folder, counts in report.regression_cases.items():
        lines.append(f"regression set {folder}: {counts['cases']} cases, {counts['retrieval']} retrieval cases removed"
                     + (f" ({counts['unattributed']} items carry no user hash: anonymous calls, or written before "
                        "cases recorded their user)" if counts["unattributed"] else ""))
    lines += [f"registry: {v['name']} {v['version']} contained the user" for v in report.versions]
    if report.dvc_versions is None:
        lines.append("DVC versions: not listed (no DVC repository here; see --repo)")
    elif not report.dvc_versions:
        lines.append(f"DVC versions holding the user: none ({report.dvc_unreadable} versions could not be read)")
    for version in report.dvc_versions or []:
        lines.append(f"DVC version still holding the user: {version['path']} {version['md5']} "
                     f"({version['name'] or ''} {version['version'] or ''}; in {', '.join(version['revisions'])})")
    if report.purged_objects is not None:
        lines.append(f"purged objects: cache {report.purged_objects['cache']}, remote {report.purged_objects['remote']}")
    elif report.purge_objects:
        lines.append(f"{report.purge_objects} DVC objects still hold the user: --purge-remote deletes them")
    if report.removed() == 0:
        lines.append("nothing left to remove: the user was already forgotten everywhere forget looks")
    return lines


def _confirm_purge(report: ForgetReport, yes: bool) -> bool:
    """Warn on stderr about what ``--purge-remote`` deletes; unless ``--yes``, ask (on stderr). True: purge."""
    revisions = sorted({r for v in report.dvc_versions or [] for r in v["revisions"]})
    _note(
        f"WARNING: --purge-remote deletes {report.purge_objects} objects of {len(report.dvc_versions or [])} DVC "
        f"versions from the local DVC cache and the remote {report.dvc_remote or '(none configured)'}. Those versions "
        f"(revisions {', '.join(revisions)}) can never be checked out, pulled or reproduced from cache again, by "
        "anyone. This cannot be undone."
    )
    if "workspace" in revisions:
        _note("WARNING: the workspace's own version still holds the user: rebuild (dvc repro) before purging, "
              "or the current outputs lose their cache copy too.")
    if yes or typer.confirm("Purge these objects?", default=False, err=True):
        return True
    _note("nothing purged")
    return False


def forget_command(
    user_id: Annotated[str, typer.Option("--user-id", help="The user to forget.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object.")] = False,
    pool: Annotated[str | None, typer.Option("--pool", help="Pool to remove the rows from (default: params).")] = None,
    cache_file: Annotated[str | None, typer.Option("--cache-file", help="sqlite3 cache file (default: params).")] = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Also clean this Redis (default: params, when the backend is redis).")
    ] = None,
    repo: Annotated[
        Path | None, typer.Option("--repo", file_okay=False, help="git + DVC repository to list (default: here, if one).")
    ] = None,
    remote: Annotated[str | None, typer.Option("--remote", help="DVC remote (default: params, else the default remote).")] = None,
    purge_remote: Annotated[
        bool, typer.Option("--purge-remote", help="Delete the DVC objects that hold the user from cache and remote.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Purge without asking (the warning is still printed).")] = False,
    params_file: ParamsOption = None,
) -> None:
    """Forget a user everywhere: deny-list, pool, both caches, regression sets; list (and purge) DVC versions.

    Idempotent: a second call removes nothing and says so. See docs/forget.md.
    """
    from datetime import datetime, timezone

    from schemas.params import ServingParams
    from tasks.forget import forget_everywhere, purge_dvc

    params = _params(params_file)
    serving = params_or_fail(ServingParams, {"cache": {"path": cache_file, "redis_url": redis_url}}, params_file)
    root = repo or Path(".")
    if not (root / ".dvc").is_dir():
        if repo is not None or purge_remote:
            fail(f"not a DVC repository: {root.resolve()}")
        root = None
    remote = remote or params.publish.remote
    report, findings = forget_everywhere(
        user_id, params, serving, datetime.now(timezone.utc), pool_uri=pool or params.pool_uri,
        redis=redis_url is not None or serving.cache.backend == "redis", repo_root=root, remote=remote,
    )
    refused = purge_remote and report.purge_objects > 0 and not _confirm_purge(report, yes)
    if purge_remote and not refused:
        report = purge_dvc(report, root, findings, remote)
    if as_json:
        _emit({**report.model_dump(mode="json"), "removed": report.removed()})
    else:
        typer.echo("\n".join(_forget_summary(report)))
        if report.versions or report.dvc_versions:
            typer.echo("Rebuild (tributary build-dataset or dvc repro) to publish versions without them.")
    for error in report.errors:
        _note(f"error: not forgotten in {error}")
    if report.errors or refused:
        raise typer.Exit(1)


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
