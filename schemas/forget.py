"""What ``tributary forget`` removed, by kind, and what still holds the user."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ForgetReport(BaseModel):
    """The outcome of forgetting one user. ``None`` means "not looked at" (no such store here), 0 "nothing left"."""

    model_config = ConfigDict(extra="forbid")

    user_hash: str = Field(description="Salted hash of the user id (the raw id is never stored or printed).")
    deny_list: bool = Field(description="True when the hash was added to the deny-list by this call.")
    deny_list_path: str
    pool_rows: int | None = Field(None, description="Pool rows removed; None: no pool (module or store absent).")
    cache_entries: dict[str, int | None] = Field(
        description="Entries removed per backend (local: the sqlite3 file, redis); None: backend not present/configured."
    )
    regression_cases: dict[str, dict[str, int]] = Field(
        description="Per regression-set folder: cases and retrieval cases removed, and items naming no user."
    )
    versions: list[dict[str, str]] = Field(description="Dataset versions of the build registry that contained the user.")
    dvc_versions: list[dict[str, Any]] | None = Field(
        None, description="DVC versions (path, md5, revisions) whose objects still hold the user; None: not a DVC repo."
    )
    dvc_unreadable: int = Field(0, description="DVC versions whose objects neither the cache nor the remote has.")
    dvc_remote: str | None = None
    purge_objects: int = Field(0, description="Objects a purge would delete (held only by versions with the user).")
    purged_objects: dict[str, int] | None = Field(None, description="Objects deleted (cache, remote); None: no purge.")
    errors: list[str] = Field(default_factory=list, description="Stores that could not be reached (the command exits 1).")

    def removed(self) -> int:
        """Everything this call removed or added (0: the user was already forgotten everywhere it looked)."""
        cases = sum(n for counts in self.regression_cases.values() for key, n in counts.items() if key != "unattributed")
        return (int(self.deny_list) + (self.pool_rows or 0) + sum(n or 0 for n in self.cache_entries.values())
                + cases + sum((self.purged_objects or {}).values()))
