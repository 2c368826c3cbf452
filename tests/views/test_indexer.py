"""Incremental indexing: mutations, deletions, expiry, flush, rebuilds and snapshots."""
import json

from cbserver.views.bucket_views import BucketViews

from .engine_helpers import ddoc, make_views, put, query

BY_TYPE = {"by_type": ("function (doc, meta) { if (doc.type) emit(doc.type, meta.id); }", "_count")}


def ids(rows):
    return [row["id"] for row in rows]


def test_set_replace_delete_update_results_without_rebuild():
    bucket, views, _ = make_views()
    put(bucket, "a", {"type": "x"})
    ddoc(views, bucket, "d", BY_TYPE)
    design = views.indexes["d"]
    assert design.builds == 1
    put(bucket, "b", {"type": "y"})
    _, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert [(r["key"], r["id"]) for r in rows] == [("x", "a"), ("y", "b")]
    put(bucket, "a", {"type": "z"})
    _, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert [(r["key"], r["id"]) for r in rows] == [("y", "b"), ("z", "a")]
    assert bucket.delete(b"b")[0] == 0
    result, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert ids(rows) == ["a"] and result.total_rows == 1
    assert design.builds == 1 and design.updates >= 3


def test_expired_document_leaves_the_index():
    bucket, views, clock = make_views()
    ddoc(views, bucket, "d", BY_TYPE)
    put(bucket, "short", {"type": "x"}, exptime=int(clock.now) + 10)
    put(bucket, "long", {"type": "x"})
    _, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert sorted(ids(rows)) == ["long", "short"]
    clock.now += 11
    _, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert ids(rows) == ["long"]
    assert views.indexes["d"].builds == 1


def test_touch_removing_expiry_keeps_document():
    bucket, views, clock = make_views()
    ddoc(views, bucket, "d", BY_TYPE)
    put(bucket, "k", {"type": "x"}, exptime=int(clock.now) + 10)
    put(bucket, "k", {"type": "x"})
    clock.now += 20
    _, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert ids(rows) == ["k"]


def test_changed_design_document_rebuilds_and_unchanged_does_not():
    bucket, views, _ = make_views()
    put(bucket, "a", {"type": "x", "n": 3})
    ddoc(views, bucket, "d", BY_TYPE)
    first = views.indexes["d"]
    ddoc(views, bucket, "d", BY_TYPE)
    assert views.indexes["d"] is first and first.builds == 1
    ddoc(views, bucket, "d", {"by_n": "function (doc) { emit(doc.n, null); }"})
    assert views.indexes["d"] is not first
    _, rows = query(views, bucket, "d", "by_n")
    assert [r["key"] for r in rows] == [3]


def test_flush_empties_indexes():
    bucket, views, _ = make_views()
    put(bucket, "a", {"type": "x"})
    ddoc(views, bucket, "d", BY_TYPE)
    bucket.flush()
    result, rows = query(views, bucket, "d", "by_type", reduce=False)
    assert rows == [] and result.total_rows == 0


def test_snapshot_restores_without_running_maps():
    bucket, views, _ = make_views()
    for i in range(50):
        put(bucket, f"k{i}", {"type": f"t{i % 5}"})
    ddoc(views, bucket, "d", BY_TYPE)
    state = json.loads(json.dumps(views.snapshot()))
    fresh = BucketViews("default", bucket.num_vbuckets)
    fresh.restore(state, bucket.records_snapshot())
    assert fresh.indexes["d"].builds == 0
    _, before = query(views, bucket, "d", "by_type", group=True)
    _, after = query(fresh, bucket, "d", "by_type", group=True)
    assert before == after == [{"key": f"t{i}", "value": 10} for i in range(5)]


def test_meta_fields_and_base64_documents():
    bucket, views, _ = make_views()
    item = put(bucket, "j", {"v": 1}, flags=7, exptime=2_000_000_000)
    put(bucket, "bin", b"\xff\x00binary")
    put(bucket, "text", b"not json")
    ddoc(views, bucket, "d", {"meta": "function (doc, meta) { emit(meta.id, [meta, typeof doc === 'string' ? decodeBase64(doc) : doc]); }"})
    _, rows = query(views, bucket, "d", "meta")
    by_id = {r["id"]: r["value"] for r in rows}
    meta, doc = by_id["j"]
    assert doc == {"v": 1}
    assert meta == {"id": "j", "flags": 7, "expiration": 2_000_000_000, "type": "json",
                    "rev": f"{item.seqno}-{item.cas:016x}{2_000_000_000:08x}{7:08x}"}
    assert by_id["bin"][0]["type"] == "base64" and by_id["bin"][1] == "\xff\x00binary"
    assert by_id["text"][0]["type"] == "base64" and by_id["text"][1] == "not json"


def test_non_utf8_keys_are_skipped():
    bucket, views, _ = make_views()
    bucket.store("set", b"\xff\xfe", b"{}", 0, 0)
    put(bucket, "ok", {})
    ddoc(views, bucket, "d", {"all": "function (doc, meta) { emit(meta.id, null); }"})
    _, rows = query(views, bucket, "d", "all")
    assert ids(rows) == ["ok"]
