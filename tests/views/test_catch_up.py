"""Catching an index up with the bucket: builds racing with drains, restores of snapshots."""
import gc
import json

from cbserver.views.bucket_views import BucketViews

from .engine_helpers import make_views, put, query

BY_TYPE = json.dumps({"views": {"by_type": {
    "map": "function (doc, meta) { emit(doc.type, null); }"}}}).encode()


def keys(rows):
    return [(row["key"], row["id"]) for row in rows]


def test_changes_drained_while_a_build_waited_reach_the_new_index():
    bucket, views, _ = make_views()
    put(bucket, "a", {"type": "old"})
    put(bucket, "b", {"type": "old"})
    items, seqno = bucket.records_snapshot(), bucket.seqno
    put(bucket, "a", {"type": "new"})
    bucket.delete(b"b")
    views.drain()
    views.put_design("d", BY_TYPE, items)
    assert views.catch_up("d", bucket.records_snapshot(), seqno) == 2
    _, rows = query(views, bucket, "d", "by_type")
    assert keys(rows) == [("new", "a")]
    assert views.indexes["d"].builds == 1


def test_restore_maps_only_newer_documents_and_drops_deleted_ones():
    bucket, views, _ = make_views()
    for i in range(20):
        put(bucket, f"k{i:02d}", {"type": "t"})
    views.put_design("d", BY_TYPE, bucket.records_snapshot())
    views.drain()
    state = json.loads(json.dumps(views.snapshot()))
    put(bucket, "k00", {"type": "changed"})
    bucket.delete(b"k01")
    fresh = BucketViews("default", bucket.num_vbuckets)
    fresh.restore(state, bucket.records_snapshot())
    design = fresh.indexes["d"]
    assert design.builds == 0 and design.updates == 2
    _, rows = query(fresh, bucket, "d", "by_type")
    assert keys(rows) == [("changed", "k00")] + [("t", f"k{i:02d}") for i in range(2, 20)]


def test_restore_rebuilds_an_index_saved_for_other_views():
    bucket, views, _ = make_views()
    put(bucket, "a", {"type": "x"})
    views.put_design("d", BY_TYPE, bucket.records_snapshot())
    state = json.loads(json.dumps(views.snapshot()))
    state["indexes"]["d"]["signature"] = "stale"
    fresh = BucketViews("default", bucket.num_vbuckets)
    fresh.restore(state, bucket.records_snapshot())
    assert fresh.indexes["d"].builds == 1 and fresh.dirty


def test_a_new_design_document_is_set_up_and_built_with_the_collector_paused(monkeypatch):
    # A full collection owed by earlier work (loading the documents) must not land inside
    # the design document's PUT: compiling its functions allocates enough to trigger one.
    from cbserver.views import bucket_views

    seen = []
    original = bucket_views.DesignIndex

    def recording(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(bucket_views, "DesignIndex", recording)
    bucket, views, _ = make_views()
    put(bucket, "a", {"type": "t"})
    assert gc.isenabled()
    views.put_design("d", BY_TYPE, bucket.records_snapshot())
    assert seen == [False] and gc.isenabled()
