"""Who holds a table's ingest lock: the record a holder writes beside the lock file."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class LockHolder(BaseModel):
    """The process holding (or that last held) a table's ingest lock.

    Written when the lock is taken, so a run that finds the table locked can name who holds it;
    ``released_at`` is set on a clean release, so a record without it whose lock is free belonged
    to a run that died holding the lock (its unpublished writes are rolled back by the next run).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    pid: int
    host: str
    started_at: datetime
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    released_at: datetime | None = None

    def describe(self) -> str:
        """One line naming the holder: pid, host, start time and flow run when known."""
        name = f"{self.flow_run_name} " if self.flow_run_name else ""
        run = f", flow run {name}{self.flow_run_id}" if self.flow_run_id else ""
        return f"pid {self.pid} on {self.host}, since {self.started_at.isoformat(timespec='seconds')}{run}"
