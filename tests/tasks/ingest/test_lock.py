"""The table's ingest lock: held across processes, named when refused, freed when its holder is killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from schemas.params import IndexParams
from tasks.ingest.lock import TableLocked, lock_path, read_holder, table_lock

REPO = Path(__file__).resolve().parents[3]
HOLD = """
import sys, time
from schemas.params import IndexParams
from tasks.ingest.lock import table_lock
with table_lock(IndexParams(db=sys.argv[1], table=sys.argv[2])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def hold_in_child(db: str, seconds: float, table: str = "chunks") -> subprocess.Popen:
    """A real process that takes the lock, says so, and holds it for ``seconds``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, db, table, str(seconds)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def index(db: str, **overrides) -> IndexParams:
    return IndexParams(db=db, **overrides)


def test_a_second_run_in_fail_mode_is_refused_with_the_holder_named(tmp_path):
    db = str(tmp_path / "db")
    child = hold_in_child(db, 60)
    try:
        with pytest.raises(TableLocked) as refused:
            with table_lock(index(db, lock="fail")):
                pytest.fail("entered a locked table")
        assert refused.value.holder.pid == child.pid and refused.value.holder.host == socket.gethostname()
        assert f"pid {child.pid}" in str(refused.value) and "'chunks'" in str(refused.value)
    finally:
        child.kill()
        child.wait()


def test_wait_mode_waits_for_the_holder_then_runs(tmp_path):
    """Regression (flaky on a loaded machine): the holder's process may still be exiting after it
    released the lock, so the test measures the wait instead of polling the process."""
    db = str(tmp_path / "db")
    child = hold_in_child(db, 2.5)
    seen = []
    try:
        with table_lock(index(db, lock="wait", lock_timeout_s=60), on_wait=seen.append) as waited:
            assert waited >= 1.5, "entered while the holder still held the lock"
            assert read_holder(index(db)).pid == os.getpid()
        assert child.wait(timeout=30) == 0 and [holder.pid for holder in seen] == [child.pid]
    finally:
        child.kill()
        child.wait()


def test_wait_mode_gives_up_after_the_timeout_naming_the_holder(tmp_path):
    db = str(tmp_path / "db")
    child = hold_in_child(db, 60)
    try:
        start = time.monotonic()
        with pytest.raises(TableLocked) as refused:
            with table_lock(index(db, lock="wait", lock_timeout_s=2)):
                pytest.fail("entered a locked table")
        assert 2 <= time.monotonic() - start < 20 and refused.value.waited_s >= 2
        assert refused.value.holder.pid == child.pid and "after waiting" in str(refused.value)
    finally:
        child.kill()
        child.wait()


def test_a_holder_killed_with_sigkill_does_not_block_the_next_run(tmp_path, caplog):
    db = str(tmp_path / "db")
    child = hold_in_child(db, 600)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert read_holder(index(db)).pid == child.pid and read_holder(index(db)).released_at is None
    with caplog.at_level("WARNING"), table_lock(index(db, lock="fail")) as waited:
        assert read_holder(index(db)).pid == os.getpid()
    assert waited < 5 and f"pid {child.pid}" in caplog.text and "without releasing" in caplog.text
    assert read_holder(index(db)).released_at is not None


def test_other_tables_are_not_locked(tmp_path):
    db = str(tmp_path / "db")
    child = hold_in_child(db, 60, table="other")
    try:
        with table_lock(index(db, lock="fail")):
            assert lock_path(index(db)) != lock_path(index(db, table="other"))
    finally:
        child.kill()
        child.wait()


def test_the_lock_is_reentrant_in_its_thread_only(tmp_path):
    db = str(tmp_path / "db")
    refused = []

    def other_thread() -> None:
        try:
            with table_lock(index(db, lock="fail")):
                pass
        except TableLocked as error:
            refused.append(error)

    with table_lock(index(db, lock="fail")):
        with table_lock(index(db, lock="fail")) as waited:  # the ingest flow inside ingest-and-gate
            assert waited == 0.0
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(refused) == 1 and refused[0].holder.pid == os.getpid()
    with table_lock(index(db, lock="fail")):  # released after the outer block
        pass


LATE_RECORD = """
import sys, time
from filelock import FileLock
from schemas.params import IndexParams
from tasks.ingest.lock import HOLDER_FILE, lock_path, this_process
from tasks.ingest.versions import atomic_write_text
index = IndexParams(db=sys.argv[1])
lock_path(index).parent.mkdir(parents=True, exist_ok=True)
with FileLock(lock_path(index), thread_local=False):
    print("locked", flush=True)
    time.sleep(0.4)  # a holder between taking the lock and writing its record
    atomic_write_text(lock_path(index).parent / HOLDER_FILE, this_process("chunks").model_dump_json())
    time.sleep(60)
"""


def test_a_refusal_in_the_gap_before_the_holder_records_itself_still_names_it(tmp_path):
    """Regression: two `tributary ingest` runs started together, the loser's message named "a process
    that has not recorded itself yet" instead of the winner (CI, fail mode)."""
    db = str(tmp_path / "db")
    child = subprocess.Popen([sys.executable, "-c", LATE_RECORD, db], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(TableLocked) as refused:
            with table_lock(index(db, lock="fail")):
                pytest.fail("entered a locked table")
        assert refused.value.holder is not None and refused.value.holder.pid == child.pid
    finally:
        child.kill()
        child.wait()
