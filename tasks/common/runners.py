"""Where the heavy tasks run: Prefect's own task runners, chosen by ``RunnerParams``.

* ``threads``: ``ThreadPoolTaskRunner`` in the flow's process (one thread unless ``workers``):
  the flow keeps writing batch N while batch N+1 is computed.
* ``processes``: ``ProcessPoolTaskRunner`` (spawned processes, one per core unless ``workers``):
  each process loads its models once and keeps them for every batch it is given.
* ``dask``: prefect-dask's ``DaskTaskRunner`` on an existing cluster (``dask_address``) or on a
  ``LocalCluster`` of ``workers`` processes.
* ``auto``: processes when the flow has at least ``processes_from`` items and the machine has
  more than one core, else threads.

``ordered_results`` submits batches with a bounded number in flight and yields their results in
submission order, so outputs never depend on the runner and memory never holds every batch.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from schemas.params import RunnerParams


def resolved_kind(params: RunnerParams, items: int, processes_from: int | None) -> str:
    """The runner ``auto`` stands for, given how many items the flow will process."""
    if params.kind != "auto":
        return params.kind
    many_cores = (os.cpu_count() or 1) > 1
    return "processes" if processes_from is not None and items >= processes_from and many_cores else "threads"


def build_runner(params: RunnerParams, items: int = 0, processes_from: int | None = None) -> TaskRunner:
    """A task runner (not yet started) for ``params``; enter it with ``with``.

    Args:
        params: The runner settings.
        items: How many items the flow will process (for ``auto``).
        processes_from: From this many items ``auto`` picks processes; ``None``: always threads.
    """
    kind = resolved_kind(params, items, processes_from)
    cores = os.cpu_count() or 1
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=params.workers or 1)
    if kind == "processes":
        return ProcessPoolTaskRunner(max_workers=params.workers or cores)
    from prefect_dask import DaskTaskRunner

    if params.dask_address:
        return DaskTaskRunner(address=params.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": params.workers or cores, "threads_per_worker": 1})


def parallelism(params: RunnerParams, runner: TaskRunner) -> int:
    """How many tasks the runner works on at once, which sets how many batches are kept in flight.

    For an existing Dask cluster that is ``workers`` (set it to the cluster's thread count), else
    this machine's cores.
    """
    if isinstance(runner, ThreadPoolTaskRunner):
        return params.workers or 1
    return params.workers or (os.cpu_count() or 1)


def ordered_results(
    runner: TaskRunner, task: Task, parameter_sets: Iterable[dict[str, Any]], in_flight: int
) -> Iterator[tuple[dict[str, Any], PrefectFuture]]:
    """Submit ``task`` once per parameter set, at most ``in_flight`` unfinished; yield in order.

    Yields:
        ``(parameters, future)`` pairs in submission order, each future finished (completed or
        failed: the caller reads ``future.state``), so one failed batch never stops the others.
    """
    pending: deque[tuple[dict[str, Any], PrefectFuture]] = deque()
    for parameters in parameter_sets:
        pending.append((parameters, runner.submit(task, parameters)))
        if len(pending) >= max(1, in_flight):
            parameters, future = pending.popleft()
            future.wait()
            yield parameters, future
    while pending:
        parameters, future = pending.popleft()
        future.wait()
        yield parameters, future
