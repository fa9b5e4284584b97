"""The response cache behind one small protocol, with two backends.

Both record, for every entry, the document ids it depends on, its model and the hash of the user
whose request it came from, so invalidation and forgetting are exact: deleting for a set of
documents (or for one user) touches only the entries that depend on them (or came from them).

- ``SqliteCacheStore``: the embedded default, one sqlite3 file (tables ``entries``, with an indexed
  ``user_hash`` column, and ``deps``). A file written before that column existed gains it on open.
- ``RedisCacheStore``: a Redis server. An entry is a string key (``tributary:v1:<hex>``) holding the
  entry's JSON with the TTL as the key's expiry; ``tributary:dep:<doc_id>``,
  ``tributary:model:<model>`` and ``tributary:user:<user_hash>`` are sets of keys, so invalidation
  and forgetting cost O(affected entries).

``put_many`` writes a batch with the same result as ``put`` on each entry in order (the last entry of a
repeated key wins): sqlite in one transaction (one commit, not one fsync per entry), Redis in
pipelines of ``REDIS_BATCH`` entries, each one MULTI/EXEC round trip.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from schemas.cache import CacheEntry
from schemas.params import CacheParams

DEP_PREFIX = "tributary:dep:"
MODEL_PREFIX = "tributary:model:"
USER_PREFIX = "tributary:user:"
REDIS_BATCH = 1000


class CacheStore(Protocol):
    """What the warm set and invalidation need from a cache backend."""

    def put(self, entry: CacheEntry) -> None:
        """Store (or replace) an entry and index its dependencies."""

    def put_many(self, entries: Iterable[CacheEntry]) -> int:
        """``put`` every entry, batched; returns how many entries were given."""

    def get(self, key: str) -> CacheEntry | None:
        """The live entry under ``key``, or None (absent or expired)."""

    def keys(self) -> list[str]:
        """Every live entry key, sorted."""

    def delete_for_documents(self, doc_ids: Iterable[str]) -> int:
        """Delete the entries depending on any of ``doc_ids``; returns how many were deleted."""

    def delete_for_model(self, model: str, keep_version: str | None) -> int:
        """Delete ``model``'s entries whose model_version is not ``keep_version``; returns the count."""

    def delete_for_user(self, user_hash: str) -> int:
        """Delete the entries created from the requests of the user ``user_hash``; returns the count."""


def expires_at(entry: CacheEntry) -> datetime | None:
    """When the entry stops being served (None: never)."""
    return entry.created_at + timedelta(seconds=entry.ttl) if entry.ttl else None


class SqliteCacheStore:
    """The embedded backend: one sqlite3 file."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS entries (
            key TEXT PRIMARY KEY, model TEXT NOT NULL, model_version TEXT, expires_at TEXT, entry TEXT NOT NULL,
            user_hash TEXT);
        CREATE TABLE IF NOT EXISTS deps (doc_id TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (doc_id, key));
        CREATE INDEX IF NOT EXISTS deps_by_key ON deps (key);
        CREATE INDEX IF NOT EXISTS entries_by_model ON entries (model);
    """
    _USER_INDEX = "CREATE INDEX IF NOT EXISTS entries_by_user ON entries (user_hash);"

    def __init__(self, path: Path | str) -> None:
        """Open (and create) the cache file."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.executescript(self._SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        if "user_hash" not in columns:  # a file from before entries carried their user
            with self._db:
                self._db.execute("ALTER TABLE entries ADD COLUMN user_hash TEXT")
        self._db.execute(self._USER_INDEX)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def put(self, entry: CacheEntry) -> None:
        """Store (or replace) an entry and its dependency rows in one transaction."""
        self.put_many((entry,))

    def put_many(self, entries: Iterable[CacheEntry]) -> int:
        """Store (or replace) every entry and its dependency rows in one transaction (all or none).

        A key given twice keeps its last entry, as consecutive ``put`` calls would.
        """
        given = 0
        latest: dict[str, CacheEntry] = {}
        for entry in entries:
            latest[entry.key] = entry
            given += 1
        rows = []
        for entry in latest.values():
            until = expires_at(entry)
            rows.append((entry.key, entry.model, entry.model_version, until.isoformat() if until else None,
                         entry.model_dump_json(), entry.user_hash))
        with self._db:
            self._db.executemany("DELETE FROM deps WHERE key = ?", [(key,) for key in latest])
            self._db.executemany(
                "INSERT OR REPLACE INTO entries (key, model, model_version, expires_at, entry, user_hash) "
                "VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.executemany("INSERT OR IGNORE INTO deps VALUES (?, ?)",
                                 [(doc, entry.key) for entry in latest.values() for doc in entry.doc_ids])
        return given

    def get(self, key: str) -> CacheEntry | None:
        """The entry, unless absent or expired."""
        row = self._db.execute("SELECT entry, expires_at FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None or (row[1] and datetime.fromisoformat(row[1]) <= datetime.now(timezone.utc)):
            return None
        return CacheEntry.model_validate_json(row[0])

    def keys(self) -> list[str]:
        """Every unexpired key, sorted."""
        now = datetime.now(timezone.utc).isoformat()
        rows = self._db.execute("SELECT key FROM entries WHERE expires_at IS NULL OR expires_at > ? ORDER BY key", (now,))
        return [row[0] for row in rows]

    def _delete_keys(self, keys: list[str]) -> int:
        with self._db:
            deleted = 0
            for key in keys:
                deleted += self._db.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount
                self._db.execute("DELETE FROM deps WHERE key = ?", (key,))
        return deleted

    def delete_for_documents(self, doc_ids: Iterable[str]) -> int:
        """Delete every entry with a dependency row on one of ``doc_ids``."""
        docs = sorted(set(doc_ids))
        keys: set[str] = set()
        for doc in docs:
            keys.update(row[0] for row in self._db.execute("SELECT key FROM deps WHERE doc_id = ?", (doc,)))
        return self._delete_keys(sorted(keys))

    def delete_for_model(self, model: str, keep_version: str | None) -> int:
        """Delete ``model``'s entries of any other model_version than ``keep_version``."""
        rows = self._db.execute("SELECT key FROM entries WHERE model = ? AND model_version IS NOT ?", (model, keep_version))
        return self._delete_keys([row[0] for row in rows])

    def delete_for_user(self, user_hash: str) -> int:
        """Delete every entry (expired ones too) whose ``user_hash`` column is ``user_hash`` (an index lookup)."""
        rows = self._db.execute("SELECT key FROM entries WHERE user_hash = ?", (user_hash,))
        return self._delete_keys([row[0] for row in rows])


class RedisCacheStore:
    """The Redis backend (redis-py client; keys and dependency sets as in the module docstring)."""

    def __init__(self, client) -> None:
        """Wrap a ``redis.Redis`` client (``decode_responses=True``)."""
        self._redis = client

    @classmethod
    def from_url(cls, url: str) -> RedisCacheStore:
        """Connect to ``url`` (``redis://host:port/db``)."""
        import redis

        return cls(redis.Redis.from_url(url, decode_responses=True))

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()

    def put(self, entry: CacheEntry) -> None:
        """SET the entry (expiring at created_at + ttl) and add its key to its dependency, model and user
        sets, atomically."""
        self.put_many((entry,))

    def put_many(self, entries: Iterable[CacheEntry], batch: int = REDIS_BATCH) -> int:
        """The commands of ``put`` for every entry, in order, ``batch`` entries to a MULTI/EXEC pipeline
        (one round trip each; every entry is written whole or not at all)."""
        given = 0
        pipe = self._redis.pipeline(transaction=True)
        for entry in entries:
            until = expires_at(entry)
            pipe.set(entry.key, entry.model_dump_json(), exat=int(until.timestamp()) if until else None)
            for doc in entry.doc_ids:
                pipe.sadd(DEP_PREFIX + doc, entry.key)
            pipe.sadd(MODEL_PREFIX + entry.model, entry.key)
            if entry.user_hash:
                pipe.sadd(USER_PREFIX + entry.user_hash, entry.key)
            given += 1
            if given % batch == 0:
                pipe.execute()
        if len(pipe):
            pipe.execute()
        return given

    def get(self, key: str) -> CacheEntry | None:
        """The entry, unless absent or expired (Redis expires it)."""
        raw = self._redis.get(key)
        return CacheEntry.model_validate_json(raw) if raw is not None else None

    def keys(self) -> list[str]:
        """Every entry key (the key format's prefix), sorted."""
        from tasks.serving.cache_key import KEY_PREFIX

        return sorted(self._redis.scan_iter(match=KEY_PREFIX + "*", count=1000))

    def _delete_entries(self, keys: list[str], sets: list[str]) -> int:
        """Delete the keys, take them out of every set that names them, drop expired members of ``sets``."""
        if not keys:
            return 0
        raws = self._redis.mget(keys)
        pipe = self._redis.pipeline(transaction=True)
        for key, raw in zip(keys, raws):
            if raw is None:
                for name in sets:
                    pipe.srem(name, key)
                continue
            entry = CacheEntry.model_validate_json(raw)
            for doc in entry.doc_ids:
                pipe.srem(DEP_PREFIX + doc, key)
            pipe.srem(MODEL_PREFIX + entry.model, key)
            if entry.user_hash:
                pipe.srem(USER_PREFIX + entry.user_hash, key)
        pipe.delete(*keys)
        return int(pipe.execute()[-1])

    def delete_for_documents(self, doc_ids: Iterable[str]) -> int:
        """Delete the union of the dependency sets of ``doc_ids``."""
        sets = [DEP_PREFIX + doc for doc in sorted(set(doc_ids))]
        if not sets:
            return 0
        return self._delete_entries(sorted(self._redis.sunion(sets)), sets)

    def delete_for_model(self, model: str, keep_version: str | None) -> int:
        """Delete ``model``'s entries of any other model_version than ``keep_version``."""
        name = MODEL_PREFIX + model
        members = sorted(self._redis.smembers(name))
        raws = self._redis.mget(members) if members else []
        doomed = [key for key, raw in zip(members, raws)
                  if raw is None or CacheEntry.model_validate_json(raw).model_version != keep_version]
        return self._delete_entries(doomed, [name])

    def delete_for_user(self, user_hash: str) -> int:
        """Delete the members of the user's set that still belong to them (a key re-written by another
        user's request keeps its entry; only the stale member is dropped), then the set itself."""
        name = USER_PREFIX + user_hash
        members = sorted(self._redis.smembers(name))
        raws = self._redis.mget(members) if members else []
        doomed = [key for key, raw in zip(members, raws)
                  if raw is not None and CacheEntry.model_validate_json(raw).user_hash == user_hash]
        deleted = self._delete_entries(doomed, [name])
        self._redis.delete(name)
        return deleted


def open_store(cache: CacheParams) -> CacheStore:
    """The cache backend ``cache`` configures (``serving.cache`` in params)."""
    return RedisCacheStore.from_url(cache.redis_url) if cache.backend == "redis" else SqliteCacheStore(cache.path)
