"""A rebuild's few new lines, processed in a process of their own while the flow serves the rest from the pool.

After new logs arrive, a build reuses most lines and processes a few. On the thread runner those few
would be redacted in the flow's process after the reused batches, holding the GIL, and presidio's import
(spaCy, torch: seconds) would come first. Instead, with ``runner.kind`` ``auto`` on a machine with more
than one core, when at least ``runner.overlap_from`` lines are reused and at most ``OVERLAP_MAX`` are
new, the build first finds its new lines (one pass over the files hashing each line against the pool's
index: no row is read) and hands them to one Prefect task, ``process-new-lines``, on a one-process
``ProcessPoolTaskRunner``. It starts before the first batch; the batches holding new lines take their
rows from its result (the process is started, and presidio loaded in it, before that pass, so the pass and
the load overlap). The rows are what a batch would make (``process_lines``), so the outputs do not
change; if the task fails, the batches process those lines themselves.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner

from schemas.params import DatasetParams, RunnerParams
from tasks.common.clock import StageClock
from tasks.dataset.pool import Pool
from tasks.dataset.prefect_tasks import BatchFailed, LineBatch, process_lines
from tasks.dataset.read import RawLine, iter_raw_lines
from tasks.common.presidio_import import import_presidio

REUSED_BATCH_LINES = 10_000
"""Lines of one batch at most when the pool serves every one of them (``NewLinesAhead.batches``)."""
OVERLAP_MAX = 5_000
"""New lines processed ahead at most (the ``auto`` runner's ``PROCESSES_FROM``: more go to the process pool)."""

_HASHED_AT_ONCE = 10_000
Location = tuple[str, int]


@dataclass
class AheadRows:
    """The new lines' pool rows by ``(source, line)``, and each stage's seconds and items."""

    rows: dict[Location, dict[str, Any]]
    clock: StageClock | None = None


@task(name="process-new-lines", cache_policy=NO_CACHE, persist_result=False)
def process_new_lines(lines: list[RawLine], params: DatasetParams, deny_list: frozenset[str]) -> AheadRows:
    """Pool rows for the build's new lines (parse, validate, redact, sign), in the ahead process.

    Raises:
        BatchFailed: naming the exception type and the first and last lines only (never their content).
    """
    clock = StageClock()
    try:
        rows = process_lines(lines, params, deny_list, clock)
    except Exception as error:  # noqa: BLE001 - re-raised without its text, which may hold personal data
        first, last = lines[0], lines[-1]
        raise BatchFailed(
            f"{type(error).__name__} in the new lines {first.source}:{first.line} - {last.source}:{last.line}"
        ) from None
    return AheadRows({(raw.source, raw.line): row for raw, row in zip(lines, rows, strict=True)}, clock)


@task(name="load-redactor", cache_policy=NO_CACHE, persist_result=False)
def load_redactor(params: DatasetParams) -> None:
    """Import presidio and load its analyzer in the ahead process, while the flow looks for the new lines."""
    import_presidio()
    from tasks.pii.analyzer import load_analyzer

    load_analyzer(params.redact.skip_parser)


def new_lines(pool: Pool, files: Sequence[Path], logs_dir: Path, limit: int) -> list[RawLine] | None:
    """The decodable lines of ``files`` the pool lacks, in input order; None when there are more than ``limit``."""
    found: list[RawLine] = []
    chunk: list[RawLine] = []

    def lacking() -> None:
        found.extend(raw for raw, held in zip(chunk, pool.may_hold(chunk), strict=True) if not held)
        chunk.clear()

    for path in files:
        for raw in iter_raw_lines(path, logs_dir):
            if isinstance(raw, RawLine):
                chunk.append(raw)
            if len(chunk) >= _HASHED_AT_ONCE:
                lacking()
                if len(found) > limit:
                    return None
    lacking()
    return found if len(found) <= limit else None


class NewLinesAhead:
    """Serves each batch its pool rows, the new lines' rows from the ahead task when one runs.

    Use as a context manager around the batches (``begin``); it closes the ahead process on exit.
    """

    def __init__(self, pool: Pool, logger: logging.Logger | logging.LoggerAdapter | None = None) -> None:
        self.pool = pool
        self.logger = logger or logging.getLogger(__name__)
        self.lines = 0
        """New lines handed to the ahead task (0: none runs)."""
        self.served = 0
        """Rows of the ahead task the batches took."""
        self.waited = 0.0
        """Seconds the batches waited for the ahead task's result."""
        self._closing = ExitStack()
        """Holds the ahead process's runner while one is open."""
        self._future: PrefectFuture | None = None
        self._done: AheadRows | None = None

    @classmethod
    def begin(
        cls, pool: Pool, files: Sequence[Path], logs_dir: Path, params: DatasetParams, deny_list: frozenset[str],
        runner: RunnerParams, kind: str, input_lines: int, logger: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> NewLinesAhead:
        """Start the ahead task when it pays (see the module's doc); else an instance that only looks rows up."""
        ahead = cls(pool, logger)
        wanted = runner.kind == "auto" and kind == "threads" and (os.cpu_count() or 1) > 1
        if not wanted or min(len(pool), input_lines) < runner.overlap_from:
            return ahead
        with ExitStack() as opening:  # closes the process if the pass fails, before the caller's ``with`` is entered
            process = opening.enter_context(ProcessPoolTaskRunner(max_workers=1))
            process.submit(load_redactor, {"params": params})  # the process starts and loads while the pass runs
            lines = new_lines(pool, files, logs_dir, OVERLAP_MAX)
            ahead._closing = opening.pop_all()  # from here the instance closes it (``__exit__``)
        if not lines or input_lines - len(lines) < runner.overlap_from:
            return ahead  # the loaded process is closed on exit
        ahead._future = process.submit(process_new_lines, {"lines": lines, "params": params, "deny_list": deny_list})
        ahead.lines = len(lines)
        ahead.logger.info("processing %d new lines ahead, in a process of their own", len(lines),
                          extra={"event": "new_lines_ahead", "lines": len(lines)})
        return ahead

    def __enter__(self) -> NewLinesAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._closing.__exit__(kind, error, trace)

    def _rows(self) -> AheadRows | None:
        """The ahead task's result (waited for once); None when none ran or it failed."""
        if self._future is not None:
            future, self._future = self._future, None
            start = time.perf_counter()
            future.wait()
            self.waited = time.perf_counter() - start
            self.logger.info("waited %.1f s for the new lines' rows", self.waited,
                             extra={"event": "new_lines_ahead_wait", "seconds": round(self.waited, 3)})
            if future.state.is_completed():
                self._done = future.result()
            else:  # the batches process the lines themselves
                self.logger.warning("processing the new lines ahead failed (%s); the batches process them",
                                    future.state.message, extra={"event": "new_lines_ahead_failed"})
        return self._done

    def batches(self, line_batches: Iterable[list[RawLine]]) -> Iterator[LineBatch]:
        """Each batch of lines with its rows; consecutive batches the pool serves whole go as one, up to ``REUSED_BATCH_LINES``.

        A reused line costs a batch little, and a Prefect task run's own overhead (about 0.1 s here) was a
        tenth of a rebuild's time at 2,000 lines a task. Outputs do not change: batches stay in input order.
        """
        held: list[LineBatch] = []
        for lines in line_batches:
            batch = self.batch(lines)
            if any(row is None for row in batch.rows) or batch.fresh:
                if held:
                    yield _joined(held)
                    held = []
                yield batch
                continue
            held.append(batch)
            if sum(len(b) for b in held) >= REUSED_BATCH_LINES:
                yield _joined(held)
                held = []
        if held:
            yield _joined(held)

    def batch(self, lines: list[RawLine]) -> LineBatch:
        """The batch of ``lines`` with their rows: the pool's, else the ahead task's (marked fresh)."""
        rows = self.pool.rows_for(lines)
        if self.lines == 0 or all(row is not None for row in rows) or (done := self._rows()) is None:
            return LineBatch(lines, rows)
        fresh = []
        for k, raw in enumerate(lines):
            if rows[k] is None and (row := done.rows.pop((raw.source, raw.line), None)) is not None:
                rows[k] = row
                fresh.append(k)
        self.served += len(fresh)
        clock, done.clock = done.clock, None  # counted once, with the first batch that takes rows
        return LineBatch(lines, rows, fresh, clock)


def _joined(batches: Sequence[LineBatch]) -> LineBatch:
    """Consecutive batches of fully reused lines as one."""
    if len(batches) == 1:
        return batches[0]
    return LineBatch([raw for b in batches for raw in b.lines], [row for b in batches for row in b.rows])
