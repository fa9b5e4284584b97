"""Which failures are worth a retry: transient I/O against storage or a service, nothing else."""

from __future__ import annotations

_PERMANENT_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)
_TRANSIENT_MARKERS = ("timed out", "timeout", "connection reset", "connection refused", "temporarily unavailable",
                      "slowdown", "slow down", "throttl", "503", "too many requests")


def is_transient(error: BaseException) -> bool:
    """True for timeouts, dropped connections and object-store throttling; False for bad data or bugs."""
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    if isinstance(error, OSError):
        return not isinstance(error, _PERMANENT_OS_ERRORS)
    message = str(error).lower()
    return isinstance(error, RuntimeError) and any(marker in message for marker in _TRANSIENT_MARKERS)


def retry_on_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the failure is transient."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, BaseException) and is_transient(error)
