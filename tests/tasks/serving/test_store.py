"""Both cache backends: exact invalidation by document, model-version drops, TTL; Redis is a real server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from schemas.cache import CacheEntry
from schemas.corpus import CorpusDiff, CorpusManifest, ManifestDocument, ModelInfo
from schemas.params import ChunkParams, EmbedParams, ExtractParams
from tasks.serving.invalidate import affected_documents, invalidate_corpus
from tasks.serving.store import DEP_PREFIX, RedisCacheStore, SqliteCacheStore

NOW = datetime.now(timezone.utc)


def entry(name: str, doc_ids: tuple[str, ...], model_version: str = "m1", **changes) -> CacheEntry:
    return CacheEntry(key=f"tributary:v1:{name}", response=f"answer {name}", model="haiku", model_version=model_version,
                      corpus_version="v1", doc_ids=doc_ids, created_at=NOW, ttl=3600, **changes)


ENTRIES = [
    entry("a", ("billing.md",)),
    entry("b", ("billing.md", "security.md")),
    entry("c", ("limits.md",)),
    entry("d", ()),
    entry("e", ("security.md",), model_version="m0"),
]


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path):
    if request.param == "file":
        backend = SqliteCacheStore(tmp_path / "cache.sqlite3")
        yield backend
        backend.close()
    else:
        yield request.getfixturevalue("redis_store")


def load(store) -> None:
    for item in ENTRIES:
        store.put(item)


def test_invalidation_deletes_exactly_the_dependent_entries(store):
    load(store)
    diff = CorpusDiff(from_version="v1", to_version="v2", added=("new.md",), changed=("security.md",), removed=("unused.md",))
    assert affected_documents(diff) == ["security.md", "unused.md"]
    assert store.delete_for_documents(affected_documents(diff)) == 2
    assert store.keys() == ["tributary:v1:a", "tributary:v1:c", "tributary:v1:d"]
    assert store.get("tributary:v1:a").response == "answer a"
    assert store.delete_for_documents(["security.md"]) == 0  # idempotent


def test_model_version_change_drops_only_that_models_other_versions(store):
    load(store)
    store.put(entry("f", ("limits.md",)).model_copy(update={"model": "sonnet", "model_version": "s0"}))
    assert store.delete_for_model("haiku", "m1") == 1
    assert "tributary:v1:e" not in store.keys() and "tributary:v1:f" in store.keys()
    assert store.delete_for_model("haiku", "m2") == 4
    assert store.keys() == ["tributary:v1:f"]


def test_expired_entries_are_not_served(store):
    store.put(entry("old", ("billing.md",)).model_copy(update={"created_at": NOW - timedelta(hours=2)}))
    store.put(entry("new", ("billing.md",)))
    assert store.get("tributary:v1:old") is None
    assert store.keys() == ["tributary:v1:new"]


def write_manifest(root: Path, version: str, documents: dict[str, str], parent: str | None) -> None:
    """A minimal published manifest: document id -> content hash."""
    model = ModelInfo(name="m", fingerprint="f", dimension=3, max_seq_length=8)
    manifest = CorpusManifest(
        version=version, table="chunks", table_version=1, parent_version=parent, created_at=NOW, pipeline_fingerprint="p",
        model=model, extract=ExtractParams(), chunk=ChunkParams(), embed=EmbedParams(),
        documents={doc: ManifestDocument(content_hash=digest, chunk_ids=(digest,)) for doc, digest in documents.items()},
        diff=CorpusDiff(from_version=parent, to_version=version), chunk_count=len(documents),
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{version}.json").write_text(manifest.model_dump_json(), encoding="utf-8")


def test_invalidate_between_published_versions_against_real_redis(redis_store, tmp_path):
    root = tmp_path / "manifests"
    write_manifest(root, "v1", {"billing.md": "1", "security.md": "2", "limits.md": "3"}, None)
    write_manifest(root, "v2", {"billing.md": "1", "security.md": "2b", "new.md": "4"}, "v1")
    load(redis_store)
    report = invalidate_corpus(redis_store, root, "v1", "v2")
    assert (report.changed_documents, report.removed_documents, report.deleted_for_documents) == (1, 1, 3)
    assert redis_store.keys() == ["tributary:v1:a", "tributary:v1:d"]


def test_redis_dependency_sets_are_exact(redis_store):
    load(redis_store)
    client = redis_store._redis
    assert client.smembers(DEP_PREFIX + "security.md") == {"tributary:v1:b", "tributary:v1:e"}
    assert client.ttl("tributary:v1:a") > 0
    redis_store.delete_for_documents(["security.md"])
    assert not client.exists(DEP_PREFIX + "security.md")
    assert client.smembers(DEP_PREFIX + "billing.md") == {"tributary:v1:a"}  # b left every set it was in
    assert sorted(client.keys("tributary:v1:*")) == ["tributary:v1:a", "tributary:v1:c", "tributary:v1:d"]


BATCH = [
    *ENTRIES,
    entry("u1", ("billing.md",), user_hash="user-1"),
    entry("u2", ("limits.md", "security.md"), user_hash="user-1").model_copy(update={"model": "sonnet"}),
    entry("forever", ("limits.md",)).model_copy(update={"ttl": None}),
    entry("old", ("billing.md",)).model_copy(update={"created_at": NOW - timedelta(hours=2)}),
    entry("a", ("limits.md",), user_hash="user-2"),  # the key of the first entry again, other deps: the last one wins
]


def sqlite_contents(store: SqliteCacheStore) -> tuple[list, list]:
    return (store._db.execute("SELECT * FROM entries ORDER BY key").fetchall(),
            store._db.execute("SELECT * FROM deps ORDER BY doc_id, key").fetchall())


def redis_contents(store) -> dict[str, tuple]:
    client = store._redis
    contents = {}
    for key in sorted(client.keys("*")):
        if client.type(key) == "set":
            contents[key] = ("set", sorted(client.smembers(key)))
        else:
            contents[key] = ("string", client.get(key), client.ttl(key))
    return contents


def test_sqlite_put_many_writes_exactly_what_put_writes(tmp_path):
    one_by_one, batched = SqliteCacheStore(tmp_path / "put.sqlite3"), SqliteCacheStore(tmp_path / "put_many.sqlite3")
    for item in BATCH:
        one_by_one.put(item)
    assert batched.put_many(iter(BATCH)) == len(BATCH)
    assert sqlite_contents(batched) == sqlite_contents(one_by_one)
    assert batched.get("tributary:v1:a").doc_ids == ("limits.md",) and batched.get("tributary:v1:old") is None
    one_by_one.close()
    batched.close()


def test_redis_put_many_writes_exactly_what_put_writes(redis_store):
    for item in BATCH:
        redis_store.put(item)
    expected = redis_contents(redis_store)
    redis_store._redis.flushdb()
    assert redis_store.put_many(BATCH, batch=3) == len(BATCH)  # three full pipelines and a remainder of two
    got = redis_contents(redis_store)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if value[0] == "string":
            assert got[key][:2] == value[:2] and abs(got[key][2] - value[2]) <= 2, key
            assert (value[2] == -1) == (key == "tributary:v1:forever"), key
        else:
            assert got[key] == value, key


def test_put_many_then_invalidation_and_forgetting_match_put(store, tmp_path, request):
    """The same backend loaded one by one (a second sqlite file, or database 1 of the same redis-server)."""
    if isinstance(store, SqliteCacheStore):
        reference = SqliteCacheStore(tmp_path / "reference.sqlite3")
    else:
        reference = RedisCacheStore.from_url(request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/1")
        reference._redis.flushdb()
    store.put_many(BATCH)
    for item in BATCH:
        reference.put(item)
    assert store.keys() == reference.keys()
    assert store.delete_for_user("user-1") == reference.delete_for_user("user-1") == 2
    assert store.delete_for_documents(["billing.md"]) == reference.delete_for_documents(["billing.md"])
    assert store.delete_for_model("haiku", "m1") == reference.delete_for_model("haiku", "m1") == 1
    assert store.keys() == reference.keys() and store.keys()
    reference.close()


def test_sqlite_put_many_writes_nothing_when_the_batch_fails_half_way(tmp_path):
    store = SqliteCacheStore(tmp_path / "cache.sqlite3")

    def entries():
        yield from ENTRIES[:3]
        raise RuntimeError("the log reader broke")

    with pytest.raises(RuntimeError):
        store.put_many(entries())
    assert store.keys() == []
    store.close()
