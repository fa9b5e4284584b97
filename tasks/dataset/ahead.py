"""A rebuild's few new lines, processed in processes of their own while the flow serves the rest from the pool.

After new logs arrive, a build reuses most lines and processes a few. On the thread runner those few
would be redacted in the flow's process after the reused batches, holding the GIL, and presidio's import
(spaCy: seconds) would come first. Instead, with ``runner.kind`` ``auto`` on a machine with more than one
core, when at least ``runner.overlap_from`` lines are reused and at most ``OVERLAP_MAX`` are new, the build
first finds its new lines (one pass hashing each line against the pool's index, no row read: 0.3 s for
60,000 lines) and hands them to Prefect tasks, ``process-new-lines``, on a ``ProcessPoolTaskRunner`` of
``runner.ahead_processes`` processes (fewer for few lines: at least ``LINES_PER_PROCESS`` each). They start
before the first batch; each loads presidio and the other models, then processes its share, while the
flow serves the reused batches; the batches holding new lines take their rows from the tasks' results.
No process starts when the pass finds no new lines (a rebuild of unchanged logs), or too many. The rows
are what a batch would make (``process_lines``), so the outputs do not change; if a task fails, the
batches process its lines themselves.
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
from tasks.common.presidio_import import import_presidio
from tasks.dataset.pool import Pool
from tasks.dataset.prefect_tasks import BatchFailed, LineBatch, process_lines
from tasks.dataset.read import RawLine, iter_raw_lines

REUSED_BATCH_LINES = 10_000
"""Lines of one batch at most when the pool serves every one of them (``NewLinesAhead.batches``)."""
OVERLAP_MAX = 5_000
"""New lines processed ahead at most (the ``auto`` runner's ``PROCESSES_FROM``: more go to the process pool)."""
LINES_PER_PROCESS = 200
"""New lines a further ahead process must get at least: below, its start (about 10 s here) is not won back."""

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
        _load_models(params)
        rows = process_lines(lines, params, deny_list, clock)
    except Exception as error:  # noqa: BLE001 - re-raised without its text, which may hold personal data
        first, last = lines[0], lines[-1]
        raise BatchFailed(
            f"{type(error).__name__} in the new lines {first.source}:{first.line} - {last.source}:{last.line}"
        ) from None
    return AheadRows({(raw.source, raw.line): row for raw, row in zip(lines, rows, strict=True)}, clock)


def _load_models(params: DatasetParams) -> None:
    """Load what processing a line loads on first use, so that no stage's seconds include it.

    presidio's analyzer (spaCy's pipeline; imported without torch), the language identifier (its model
    takes 2-4 s to unpickle, which would land in ``parse``) and the token counter: each is cached by its module.
    """
    import_presidio()
    from tasks.dataset.language import detect_language
    from tasks.dataset.tokens import count_tokens
    from tasks.pii.analyzer import load_analyzer

    load_analyzer(params.redact.skip_parser)
    detect_language("warming up the language identifier")
    count_tokens(["warming up the token counter"])


def split_evenly(lines: Sequence[RawLine], shares: int) -> list[list[RawLine]]:
    """``lines`` in ``shares`` consecutive runs whose lengths differ by one at most."""
    size, more = divmod(len(lines), shares)
    bounds = [k * size + min(k, more) for k in range(shares + 1)]
    return [list(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


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
        """New lines handed to the ahead tasks (0: none runs)."""
        self.served = 0
        """Rows of the ahead tasks the batches took."""
        self.waited = 0.0
        """Seconds the batches waited for the ahead tasks' results."""
        self._closing = ExitStack()
        """Holds the ahead processes' runner while one is open."""
        self._futures: list[PrefectFuture] = []
        self._done: AheadRows | None = None

    @classmethod
    def begin(
        cls, pool: Pool, files: Sequence[Path], logs_dir: Path, params: DatasetParams, deny_list: frozenset[str],
        runner: RunnerParams, kind: str, input_lines: int, logger: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> NewLinesAhead:
        """Start the ahead tasks when they pay (see the module's doc); else an instance that only looks rows up."""
        ahead = cls(pool, logger)
        cores = os.cpu_count() or 1
        wanted = runner.kind == "auto" and kind == "threads" and cores > 1
        if not wanted or min(len(pool), input_lines) < runner.overlap_from:
            return ahead
        lines = new_lines(pool, files, logs_dir, OVERLAP_MAX)
        if not lines or input_lines - len(lines) < runner.overlap_from:
            return ahead  # no process started: nothing to process, or too much to go ahead
        shares = split_evenly(lines, max(1, min(runner.ahead_processes, cores, len(lines) // LINES_PER_PROCESS)))
        with ExitStack() as opening:  # closes the processes if anything here fails, before the caller's ``with``
            pool_runner = opening.enter_context(ProcessPoolTaskRunner(max_workers=len(shares)))
            ahead._futures = [  # each submit while none is idle spawns a process
                pool_runner.submit(process_new_lines, {"lines": share, "params": params, "deny_list": deny_list})
                for share in shares
            ]
            ahead.lines = len(lines)
            ahead.logger.info("processing %d new lines ahead, in %d process(es) of their own", len(lines), len(shares),
                              extra={"event": "new_lines_ahead", "lines": len(lines), "processes": len(shares)})
            ahead._closing = opening.pop_all()  # from here the instance closes them (``__exit__``)
        return ahead

    def __enter__(self) -> NewLinesAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._closing.__exit__(kind, error, trace)

    def _rows(self) -> AheadRows | None:
        """The ahead tasks' results, merged (waited for once); None when none ran or all failed."""
        if self._futures:
            futures, self._futures = self._futures, []
            start = time.perf_counter()
            for future in futures:
                future.wait()
            self.waited = time.perf_counter() - start
            self.logger.info("waited %.1f s for the new lines' rows", self.waited,
                             extra={"event": "new_lines_ahead_wait", "seconds": round(self.waited, 3)})
            done = AheadRows({}, StageClock())
            for future in futures:
                if future.state.is_completed():
                    result = future.result()
                    done.rows.update(result.rows)
                    done.clock.merge(result.clock)
                else:  # the batches process these lines themselves
                    self.logger.warning("processing new lines ahead failed (%s); the batches process them",
                                        future.state.message, extra={"event": "new_lines_ahead_failed"})
            self._done = done if done.rows else None
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
