"""A temporary Prefect API for one CLI process: started before the heavy imports, stopped without the wait.

When no ``PREFECT_API_URL`` is configured, Prefect starts a temporary server the first time a flow
needs the API: in the calling process it imports the whole server app (FastAPI, SQLAlchemy models:
seconds on two cores), boots uvicorn, polls it, and at exit waits up to 5 s for it to stop. A CLI
that knows it will run a flow can do better: launch the same uvicorn command first, so that its boot
(another process, the other core) overlaps with the flow's imports and model loads, then point
``PREFECT_API_URL`` at it. The server is the one Prefect would start (same factory, same environment,
the same database under ``PREFECT_HOME``), so every flow run, log and artifact lands where the UI
reads them.

``temporary_api`` does nothing when an API is configured (a long-lived ``prefect server start``,
the test harness, a served deployment's worker): that server is used as before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

STOP_GRACE_S = 1.0
"""How long a stopping server may take to exit after SIGTERM before it is killed."""
PORT_IN_USE = 3
"""uvicorn's exit code when it cannot bind its port (another process took it meanwhile)."""


class ApiStartError(RuntimeError):
    """The temporary server did not answer its health check in time (its process is stopped)."""


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(port: int) -> subprocess.Popen:
    """The uvicorn command Prefect's ``SubprocessASGIServer`` runs, without importing the server here."""
    import prefect

    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
        "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "error", "--lifespan", "on",
    ]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)


@dataclass
class TemporaryApi:
    """One uvicorn process serving the Prefect API on a free local port."""

    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        self.process = _launch(self.port)
        atexit.register(self.stop)  # after Prefect's log and event workers drain (atexit runs last-in first)

    def ready(self, timeout: float | None = None) -> None:
        """Wait for ``/health``; relaunch on another port if the first was taken.

        Args:
            timeout: Seconds to wait; default ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``
                (the CLI sets 120 unless the environment says otherwise: a loaded box boots slowly).

        Raises:
            ApiStartError: when it does not answer within ``timeout`` seconds (the process is stopped).
        """
        if timeout is None:
            from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

            timeout = float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() == PORT_IN_USE:
                self.port = _free_port()
                self.process = _launch(self.port)
            elif self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        code = self.process.poll() if self.process else None
        self.stop()
        raise ApiStartError(
            f"the temporary Prefect server on port {self.port} did not answer within {timeout:.0f} s"
            + (f" (it exited with code {code})" if code is not None else "")
            + "; start one with `prefect server start` and set PREFECT_API_URL"
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_GRACE_S`` (every API call of the run has returned by now)."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def api_configured() -> bool:
    """Whether Prefect already has an API to talk to (``PREFECT_API_URL`` from the environment or profile)."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


@contextlib.contextmanager
def temporary_api() -> Iterator[TemporaryApi | None]:
    """Launch a temporary API now (``None`` when one is configured); it is stopped when the block ends.

    Run the flow inside ``serving(api)``, after the imports that the server's boot should overlap.
    """
    if api_configured():
        yield None
        return
    api = TemporaryApi()
    api.start()
    try:
        yield api
    finally:
        api.stop()


def _drain_workers() -> None:
    """Send the run's queued logs and events before the server goes (as Prefect's test harness does)."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with contextlib.suppress(RuntimeError):  # a worker that never started
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


@contextlib.contextmanager
def serving(api: TemporaryApi | None) -> Iterator[None]:
    """Wait for ``api`` and point Prefect at it for the block (no-op for ``None``: the configured API is used).

    Raises:
        ApiStartError: when the server does not come up (see ``TemporaryApi.ready``).
    """
    if api is None:
        yield
        return
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api.ready()
    with (
        temporary_settings(updates={PREFECT_API_URL: api.url}),
        prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
    ):
        try:
            yield
        finally:
            _drain_workers()
