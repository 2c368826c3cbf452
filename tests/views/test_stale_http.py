"""stale=ok / update_after / false and incremental updates seen through the HTTP API."""
import json


def test_stale_modes_after_writes(scratch):
    kv, http = scratch
    kv.load([("st-a", b'{"kind": "st"}')])
    assert http.put_ddoc("st", {"views": {"v": {
        "map": "function (doc, meta) { if (doc.kind === 'st') emit(meta.id, doc.n || 0); }"}}})[0] == 201
    assert [r["id"] for r in http.query("st", "v", stale="false")["rows"]] == ["st-a"]
    kv.load([("st-b", b'{"kind": "st"}')])
    assert [r["id"] for r in http.query("st", "v", stale="ok")["rows"]] == ["st-a"]
    assert [r["id"] for r in http.query("st", "v")["rows"]] == ["st-a"]  # update_after: old index
    assert [r["id"] for r in http.query("st", "v", stale="ok")["rows"]] == ["st-a", "st-b"]
    kv.load([("st-a", b'{"kind": "st", "n": 5}')])
    kv.delete("st-b")
    body = http.query("st", "v", stale="false")
    assert body["rows"] == [{"id": "st-a", "key": "st-a", "value": 5}] and body["total_rows"] == 1


def test_dev_view_subset_and_full_set(scratch):
    kv, http = scratch
    docs = [(f"dv-{i}", json.dumps({"dv": i}).encode()) for i in range(300)]
    kv.load(docs)
    view = {"views": {"v": {"map": "function (doc, meta) { if (doc.dv !== undefined) emit(doc.dv, null); }"}}}
    assert http.put_ddoc("dev_dv", view)[0] == 201
    assert http.put_ddoc("dv", view)[0] == 201
    assert http.query("dv", "v", stale="false")["total_rows"] == 300
    assert http.query("dev_dv", "v", full_set=True)["total_rows"] == 300


def test_debug_adds_partitions(scratch):
    kv, http = scratch
    kv.load([("dbg-1", b'{"dbg": 1}')])
    assert http.put_ddoc("dbg", {"views": {"v": {"map": "function (doc) { if (doc.dbg) emit(doc.dbg, null); }"}}})[0] == 201
    body = http.query("dbg", "v", debug=True)
    assert isinstance(body["rows"][0]["partition"], int) and "debug_info" in body
