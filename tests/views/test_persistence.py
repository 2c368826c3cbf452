"""Design documents and indexes survive a restart; only changed documents are mapped again."""
from __future__ import annotations

import json
import sqlite3

from support.rawkv import KV

from .conftest import ViewsHTTP

BY_TYPE = {"views": {"by_type": {
    "map": "function (doc, meta) { if (doc.type) emit(doc.type, doc.n); }", "reduce": "_sum"}}}
DOCS = [(f"doc{i:03d}", {"type": f"t{i % 3}", "n": i}) for i in range(300)]


def start(server_factory, data_dir):
    """Start a persistent server on ``data_dir`` and wait for its warmup."""
    return server_factory(buckets=("default",), data_dir=str(data_dir))


def debug_local(http: ViewsHTTP, ddoc: str = "d", **params) -> dict:
    """Query with debug=true and return the engine's build/update counters."""
    body = http.query(ddoc, "by_type", reduce=False, limit=0, debug=True, **params)
    return body["debug_info"]["local"]


def grouped(http: ViewsHTTP, ddoc: str = "d") -> list:
    return http.query(ddoc, "by_type", group=True, stale="false")["rows"]


def populate(srv) -> ViewsHTTP:
    """Store DOCS through KV and the BY_TYPE design document through HTTP."""
    kv = KV(srv.kv_port, "default")
    kv.load([(key, json.dumps(doc).encode()) for key, doc in DOCS])
    kv.close()
    http = ViewsHTTP(srv.views_port, "default")
    assert http.put_ddoc("d", BY_TYPE)[0] == 201
    return http


def expected_sums(docs) -> list:
    sums: dict[str, int] = {}
    for _, doc in docs:
        sums[doc["type"]] = sums.get(doc["type"], 0) + doc["n"]
    return [{"key": key, "value": sums[key]} for key in sorted(sums)]


def test_restart_keeps_design_documents_and_indexes_without_rebuild(server_factory, tmp_path):
    srv = start(server_factory, tmp_path)
    http = populate(srv)
    before = grouped(http)
    assert before == expected_sums(DOCS)
    status, headers, body = http.request("GET", "/_design/d")
    assert status == 200
    srv.stop()

    srv = start(server_factory, tmp_path)
    http = ViewsHTTP(srv.views_port, "default")
    status, headers_after, body_after = http.request("GET", "/_design/d")
    assert status == 200 and json.loads(body_after) == json.loads(body)
    assert headers_after["X-Couchbase-Meta"] == headers["X-Couchbase-Meta"]
    assert grouped(http) == before
    local = debug_local(http)
    assert local["builds"] == 0 and local["updates"] == 0


def test_restart_maps_only_documents_changed_since_the_snapshot(server_factory, tmp_path):
    srv = start(server_factory, tmp_path)
    populate(srv)
    srv.stop()

    srv = start(server_factory, tmp_path)
    kv = KV(srv.kv_port, "default")
    kv.load([("doc000", json.dumps({"type": "t9", "n": 1000}).encode())])
    kv.delete("doc001")
    kv.close()
    http = ViewsHTTP(srv.views_port, "default")
    docs = dict(DOCS)
    docs["doc000"] = {"type": "t9", "n": 1000}
    del docs["doc001"]
    assert grouped(http) == expected_sums(docs.items())
    local = debug_local(http)
    assert local["builds"] == 0 and local["updates"] == 2


def test_changed_design_document_rebuilds_after_restart_and_deleted_one_stays_gone(
        server_factory, tmp_path):
    srv = start(server_factory, tmp_path)
    http = populate(srv)
    assert http.put_ddoc("gone", BY_TYPE)[0] == 201
    assert http.request("DELETE", "/_design/gone")[0] == 200
    srv.stop()

    srv = start(server_factory, tmp_path)
    http = ViewsHTTP(srv.views_port, "default")
    assert http.request("GET", "/_design/gone")[0] == 404
    changed = {"views": {"by_type": {"map": "function (doc, meta) { emit(doc.type, 1); }",
                                     "reduce": "_sum"}}}
    assert http.put_ddoc("d", changed)[0] == 201
    assert debug_local(http)["builds"] == 1
    assert sum(row["value"] for row in grouped(http)) == len(DOCS)


def test_writes_between_snapshot_and_shutdown_are_in_the_index_after_restart(
        server_factory, tmp_path):
    srv = start(server_factory, tmp_path)
    http = populate(srv)
    grouped(http)
    kv = KV(srv.kv_port, "default")
    kv.load([(f"late{i}", json.dumps({"type": "late", "n": 1}).encode()) for i in range(10)])
    kv.close()
    srv.stop()

    srv = start(server_factory, tmp_path)
    http = ViewsHTTP(srv.views_port, "default")
    rows = http.query("d", "by_type", key="late", stale="ok")["rows"]
    assert rows == [{"key": None, "value": 10}]
    assert debug_local(http, stale="ok")["builds"] == 0


def test_damaged_snapshot_is_rebuilt_and_damaged_design_document_skipped(server_factory, tmp_path):
    srv = start(server_factory, tmp_path)
    http = populate(srv)
    assert http.put_ddoc("other", BY_TYPE)[0] == 201
    expected = grouped(http)
    srv.stop()
    database = sqlite3.connect(tmp_path / "buckets" / "default" / "kv.sqlite3")
    with database:
        database.execute("UPDATE meta SET value = x'00ff' "
                         "WHERE namespace = 'views' AND key = 'index/d'")
        database.execute("UPDATE meta SET value = CAST('{\"body\": 1}' AS BLOB) "
                         "WHERE namespace = 'design' AND key = '_design/other'")
    database.close()

    srv = start(server_factory, tmp_path)
    http = ViewsHTTP(srv.views_port, "default")
    assert grouped(http) == expected
    assert debug_local(http)["builds"] == 1
    assert http.request("GET", "/_design/other")[0] == 404
