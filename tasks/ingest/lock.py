"""One ingest at a time per table: an OS file lock beside the table's manifests.

The lock is ``fcntl.flock`` (through ``filelock``) on ``<manifest folder>/.ingest.lock``: the
kernel releases it when the holding process exits for any reason, SIGKILL included, so a killed
run never blocks the next one (which rolls back the killed run's unpublished writes). The holder
writes who it is to ``.ingest.lock.holder.json`` beside it, so a second run can name it.

A second run on a locked table either waits (``index.lock: wait``, up to ``index.lock_timeout_s``)
or refuses at once (``index.lock: fail``); both raise :class:`TableLocked` naming the holder when
they give up. The lock is re-entrant within one thread, so a flow holding it (ingest-and-gate, the
nightly's corpus branch) can call the ingest flow, which takes it again.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from schemas.lock import LockHolder
from schemas.params import IndexParams
from tasks.ingest.versions import atomic_write_text, manifest_root

log = logging.getLogger(__name__)
LOCK_FILE = ".ingest.lock"
HOLDER_FILE = ".ingest.lock.holder.json"
_WAIT_NOTICE_S = 1.0  # try once without waiting, then say who we wait for, then wait
_RECORD_PATIENCE_S = 1.0  # how long a lock found taken may lack its holder's record
_held = threading.local()


class TableLocked(RuntimeError):
    """Another run holds the table's ingest lock (and we would not, or could no longer, wait)."""

    def __init__(self, table: str, holder: LockHolder | None, waited_s: float) -> None:
        self.table, self.holder, self.waited_s = table, holder, waited_s
        who = holder.describe() if holder else "a process that has not recorded itself yet"
        waited = f" after waiting {waited_s:.0f} s" if waited_s > 0 else ""
        super().__init__(
            f"table {table!r} is being ingested by another run ({who}){waited}: "
            "wait for it to finish, or set ingest.index.lock: wait and a longer lock_timeout_s"
        )


def lock_path(index: IndexParams) -> Path:
    """The lock file of the table: in its manifest folder, so it sits beside what it guards."""
    return manifest_root(index) / LOCK_FILE


def read_holder(index: IndexParams) -> LockHolder | None:
    """The last holder's record, or None when there is none (or it is torn or from another format)."""
    path = manifest_root(index) / HOLDER_FILE
    try:
        return LockHolder.model_validate_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValidationError, ValueError):
        return None


def current_holder(index: IndexParams) -> LockHolder | None:
    """The holder record, unless it says it released the lock (the new holder has not written yet)."""
    holder = read_holder(index)
    return holder if holder is not None and holder.released_at is None else None


def holder_of_taken_lock(index: IndexParams, patience_s: float = _RECORD_PATIENCE_S) -> LockHolder | None:
    """``current_holder`` of a lock found taken, waiting up to ``patience_s`` for a new holder's record.

    A holder writes its record just after it takes the lock, so a run that collides in that gap would
    otherwise name nobody (a regression: two CLI runs started together, each checking "unchanged" first).
    """
    deadline = time.monotonic() + patience_s
    while (holder := current_holder(index)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return holder


def this_process(table: str) -> LockHolder:
    """A holder record for the current process (and its Prefect flow run, when inside one)."""
    run_id = run_name = None
    if "prefect" in sys.modules:  # a process that never imported Prefect runs no flow (the CLI's unchanged check)
        from prefect.runtime import flow_run

        run_id = flow_run.get_id()
        run_name = flow_run.get_name() if run_id else None
    return LockHolder(
        table=table, pid=os.getpid(), host=socket.gethostname(), started_at=datetime.now(timezone.utc),
        flow_run_id=str(run_id) if run_id else None, flow_run_name=run_name,
    )


def acquire(lock: FileLock, index: IndexParams, on_wait: Callable[[LockHolder | None], None]) -> float:
    """Take the lock per ``index.lock``; returns the seconds waited.

    Raises:
        TableLocked: when the table is locked and the mode is ``fail``, or the wait timed out.
    """
    start = time.monotonic()
    first_try = 0 if index.lock == "fail" else min(_WAIT_NOTICE_S, index.lock_timeout_s)
    try:
        lock.acquire(timeout=first_try)
        return time.monotonic() - start
    except Timeout:
        if index.lock == "fail" or index.lock_timeout_s <= first_try:
            raise TableLocked(index.table, holder_of_taken_lock(index), time.monotonic() - start) from None
    on_wait(holder_of_taken_lock(index))
    try:
        lock.acquire(timeout=max(index.lock_timeout_s - (time.monotonic() - start), 0))
    except Timeout:
        raise TableLocked(index.table, holder_of_taken_lock(index), time.monotonic() - start) from None
    return time.monotonic() - start


@contextmanager
def table_lock(index: IndexParams, on_wait: Callable[[LockHolder | None], None] | None = None) -> Iterator[float]:
    """Hold the table's ingest lock for the block; yields the seconds spent waiting for it.

    Args:
        index: The table (its manifest folder holds the lock) and the lock mode and timeout.
        on_wait: Called once with the current holder when the lock is taken and we start waiting.

    Raises:
        TableLocked: when another run holds the lock and we may not wait, or waited too long.
    """
    path = lock_path(index).resolve()
    counts: dict[Path, int] = _held.__dict__.setdefault("counts", {})
    if counts.get(path):  # this thread holds it already (a flow calling the ingest flow)
        counts[path] += 1
        try:
            yield 0.0
        finally:
            counts[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, thread_local=False, fallback_to_soft=False)  # soft locks outlive a killed holder: fail closed
    waited = acquire(lock, index, on_wait or (lambda holder: None))
    try:
        previous = read_holder(index)
        if previous is not None and previous.released_at is None:
            log.warning("the last run on table %r (%s) ended without releasing its lock; its unpublished writes are rolled back",
                        index.table, previous.describe())
        holder = this_process(index.table)
        atomic_write_text(path.parent / HOLDER_FILE, holder.model_dump_json())
        counts[path] = 1
        try:
            yield waited
        finally:
            counts.pop(path, None)
            released = holder.model_copy(update={"released_at": datetime.now(timezone.utc)})
            atomic_write_text(path.parent / HOLDER_FILE, released.model_dump_json())
    finally:
        lock.release()


def log_lock_wait(logger: logging.Logger | logging.LoggerAdapter, index: IndexParams, holder: LockHolder | None) -> None:
    """Say whom a run waits for on ``index``'s table, and for how long at most (``table_lock``'s ``on_wait``)."""
    who = holder.describe() if holder else "a run that has not recorded itself yet"
    logger.warning(
        "table %r is locked by another ingest (%s); waiting up to %.0f s", index.table, who, index.lock_timeout_s,
        extra={"event": "lock_wait", "table": index.table, "holder_pid": holder.pid if holder else None},
    )
