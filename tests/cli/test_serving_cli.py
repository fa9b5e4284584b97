"""The serving commands' CLI contract: cache-key (key or exit 1 with a reason), invalidate with the file backend."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.app import full_app
from tests.tasks.serving.test_cache_key import RAG_REQUEST, VECTORS

app = full_app()


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_cache_key_prints_the_key(runner, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(VECTORS[1][0]), encoding="utf-8")
    result = runner.invoke(app, ["cache-key", "--request", str(request)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == VECTORS[1][2]


def test_cache_key_exits_1_with_the_reason(runner, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps({**RAG_REQUEST, "temperature": 0.7}), encoding="utf-8")
    result = runner.invoke(app, ["cache-key", "--request", str(request)])
    assert result.exit_code == 1
    assert result.stdout == "" and "not deterministic" in result.stderr


def test_cache_key_rejects_a_bad_request_file(runner, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"model": "m"}), encoding="utf-8")
    assert runner.invoke(app, ["cache-key", "--request", str(request)]).exit_code == 2


def test_invalidate_json_prints_counts_and_deletes_dependents(runner, tmp_path):
    from tasks.serving.store import SqliteCacheStore
    from tests.tasks.serving.test_store import ENTRIES, write_manifest

    db = tmp_path / "lancedb"
    root = db / "corpus-versions" / "chunks"
    write_manifest(root, "v1", {"billing.md": "1", "security.md": "2", "limits.md": "3"}, None)
    write_manifest(root, "v2", {"billing.md": "1", "security.md": "2b", "limits.md": "3"}, "v1")
    cache_file = tmp_path / "cache.sqlite3"
    store = SqliteCacheStore(cache_file)
    for entry in ENTRIES:
        store.put(entry)
    store.close()
    args = ["invalidate", "--from", "v1", "--to", "v2", "--backend", "file", "--cache-file", str(cache_file), "--db", str(db), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"from_version": "v1", "to_version": "v2", "changed_documents": 1,
                                         "deleted_for_documents": 2, "remaining": 3}
    model = runner.invoke(app, ["invalidate", "--model", "haiku", "--model-version", "m2", "--cache-file", str(cache_file), "--json"])
    assert json.loads(model.stdout)["deleted_for_model"] == 3
    missing = runner.invoke(app, [*args[:4], "v9", *args[5:]])
    assert missing.exit_code == 2 and "v9" in missing.stderr


def test_cache_warm_loads_the_warm_set_in_one_batch_into_the_file_backend(runner, tmp_path):
    from tasks.serving.store import SqliteCacheStore
    from tests.tasks.serving.test_warm import log

    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [log("r1", documents=[{"id": "billing.md", "content_hash": "h1", "score": 0.9}]),
             log("r2", user="a different question", response="No personal data here."), log("r3", temperature=0.7, user="third")]
    (logs / "day.jsonl").write_text("".join(line.model_dump_json() + "\n" for line in lines))
    cache_file = tmp_path / "cache.sqlite3"
    result = runner.invoke(app, ["cache-warm", "--logs-dir", str(logs), "--backend", "file", "--cache-file", str(cache_file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kept"] == 2
    store = SqliteCacheStore(cache_file)
    entries = [store.get(key) for key in store.keys()]
    assert sorted(e.source_request_id for e in entries) == ["r1", "r2"]
    assert next(e for e in entries if e.source_request_id == "r1").doc_ids == ("billing.md",)
    store.close()
