"""Bucket.get_plain / set_plain, the engine side of the KV fast path: they act exactly
like get / store(SET) when they act, and change nothing when they decline."""
from __future__ import annotations

from clocks import ManualClock

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import SET
from couchbase.protocol import Status


def make(quota: int = 1 << 20) -> tuple[Bucket, ManualClock]:
    clock = ManualClock()
    return Bucket(BucketSettings("b", ram_quota=quota), clock=clock), clock


def snapshot(bucket: Bucket) -> tuple:
    return (dict(bucket.stats), bucket.mem_used, bucket.seqno,
            [(k, it.value, it.cas) for k, it in bucket.items()])


def test_set_plain_matches_store():
    plain, clock = make()
    full, _ = make()
    full.clock = clock
    for bucket in (plain, full):
        bucket._cas = 100
    for key, value, exp in ((b"a", b"1", 0), (b"b", b"22", 5), (b"a", b"333", 0)):
        item = plain.set_plain(key, value, 9, exp, 1)
        status, expected = full.store(SET, key, value, 9, exp, 0, 1)
        assert status == Status.SUCCESS
        assert (item.value, item.flags, item.expiry, item.cas, item.datatype, item.seqno) == \
            (expected.value, expected.flags, expected.expiry, expected.cas, expected.datatype,
             expected.seqno)
    assert plain.stats == full.stats
    assert plain.mem_used == full.mem_used


def test_set_plain_declines_without_side_effects():
    bucket, clock = make(quota=2000)
    bucket.store(SET, b"locked", b"v", 0, 0)
    bucket.get_locked(b"locked", 30)
    bucket.store(SET, b"expiring", b"v", 0, 5)
    clock.advance(10)
    before = snapshot(bucket)
    assert bucket.set_plain(b"locked", b"new", 0, 0, 0) is None
    assert bucket.set_plain(b"expiring", b"new", 0, 0, 0) is None
    assert bucket.set_plain(b"big", b"x" * 5000, 0, 0, 0) is None
    bucket.throttled = True
    assert bucket.set_plain(b"fresh", b"x", 0, 0, 0) is None
    assert snapshot(bucket) == before


def test_get_plain_counts_hits_and_declines_silently():
    bucket, clock = make()
    bucket.store(SET, b"hit", b"v", 3, 0)
    bucket.store(SET, b"locked", b"v", 0, 0)
    bucket.get_locked(b"locked", 10)
    bucket.store(SET, b"expiring", b"v", 0, 5)
    clock.advance(6)
    before = snapshot(bucket)
    for key in (b"missing", b"locked", b"expiring"):
        assert bucket.get_plain(key) is None
    assert snapshot(bucket) == before
    assert bucket.get_plain(b"hit").flags == 3
    assert bucket.stats["cmd_get"] == before[0]["cmd_get"] + 1
    assert bucket.stats["get_hits"] == before[0]["get_hits"] + 1
    clock.advance(5)
    assert bucket.get_plain(b"locked").value == b"v"  # the lock ran out
