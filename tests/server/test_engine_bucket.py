"""The engine's contract with storage and views: subscriptions, snapshots, OBSERVE state,
memory quota (a real Bucket, driven directly, with a settable clock)."""
from __future__ import annotations

from support.clocks import ManualClock

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import SET
from cbserver.engine.item import VALUE
from couchbase.protocol import ObserveState, Status


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    def on_mutation(self, bucket, key, record):
        self.events.append((key, None if record is None else record[VALUE]))

    def on_flush(self, bucket):
        self.events.append("flush")


def make(quota: int = 1 << 20) -> tuple[Bucket, ManualClock]:
    clock = ManualClock()
    return Bucket(BucketSettings("b", ram_quota=quota), clock=clock), clock


def test_listeners_see_every_change_in_order():
    bucket, clock = make()
    rec = Recorder()
    bucket.subscribe(rec)
    bucket.store(SET, b"a", b"1", 0, 0)
    bucket.arithmetic(b"a", 1, 0, 0, True)
    bucket.concat(b"a", b"!", True)
    bucket.store(SET, b"e", b"x", 0, 5)
    bucket.delete(b"a")
    clock.advance(10)
    bucket.get(b"e")
    bucket.flush()
    bucket.unsubscribe(rec)
    bucket.store(SET, b"z", b"1", 0, 0)
    assert rec.events == [(b"a", b"1"), (b"a", b"2"), (b"a", b"2!"), (b"e", b"x"), (b"a", None),
                          (b"e", None), "flush"]


def test_items_are_immutable_once_published_and_carry_metadata():
    bucket, _ = make()
    _, first = bucket.store(SET, b"k", b"v1", 7, 0, datatype=1)
    _, second = bucket.store(SET, b"k", b"v2", 8, 0)
    assert (first.value, first.flags, first.datatype) == (b"v1", 7, 1)
    assert second.seqno > first.seqno and second.cas != first.cas
    assert [k for k, _ in bucket.items()] == [b"k"]


def test_items_snapshot_skips_expired_and_survives_changes():
    bucket, clock = make()
    bucket.store(SET, b"a", b"1", 0, 0)
    bucket.store(SET, b"b", b"1", 0, 1)
    clock.advance(5)
    snapshot = bucket.items()
    bucket.store(SET, b"c", b"1", 0, 0)
    assert [k for k, _ in snapshot] == [b"a"]


def test_observe_follows_persistence_when_a_persister_reports():
    bucket, _ = make()
    _, item = bucket.store(SET, b"k", b"v", 0, 0)
    assert bucket.observe(b"k") == (ObserveState.PERSISTED, item.cas)
    bucket.mark_persisted(0)
    assert bucket.observe(b"k") == (ObserveState.FOUND, item.cas)
    bucket.mark_persisted(item.seqno)
    assert bucket.observe(b"k")[0] == ObserveState.PERSISTED
    bucket.delete(b"k")
    assert bucket.observe(b"k") == (ObserveState.LOGICALLY_DELETED, 0)
    bucket.mark_persisted(bucket.seqno)
    assert bucket.observe(b"k") == (ObserveState.NOT_FOUND, 0)


def test_memory_quota_gives_enomem_and_frees_on_delete():
    bucket, _ = make(quota=10_000)
    assert bucket.store(SET, b"a", b"x" * 6000, 0, 0)[0] == Status.SUCCESS
    assert bucket.store(SET, b"b", b"x" * 6000, 0, 0)[0] == Status.ENOMEM
    bucket.delete(b"a")
    assert bucket.mem_used == 0
    assert bucket.store(SET, b"b", b"x" * 6000, 0, 0)[0] == Status.SUCCESS


def test_a_failing_listener_does_not_fail_the_mutation():
    bucket, _ = make()

    class Broken:
        def on_mutation(self, bucket, key, item):
            raise RuntimeError("boom")

        def on_flush(self, bucket):
            raise RuntimeError("boom")

    rec = Recorder()
    bucket.subscribe(Broken())
    bucket.subscribe(rec)
    assert bucket.store(SET, b"k", b"v", 0, 0)[0] == Status.SUCCESS
    bucket.delete(b"k")
    bucket.flush()
    assert len(bucket) == 0
    assert rec.events == [(b"k", b"v"), (b"k", None), "flush"]
