"""The engine side of the KV fast path: ``set_plain`` and ``is_plain`` on a bucket's
records act exactly like store(SET) / get when they act, and change nothing when they
decline; the fast path's counters show in ``statistics`` as the full path's do."""
from __future__ import annotations

from support.clocks import ManualClock

from cbserver.engine import Bucket, BucketSettings, Item
from cbserver.engine.bucket import FAST_GETS, FAST_SETS, SET
from couchbase.protocol import Status


def make(quota: int = 1 << 20) -> tuple[Bucket, ManualClock]:
    clock = ManualClock()
    return Bucket(BucketSettings("b", ram_quota=quota), clock=clock), clock


def twins() -> tuple[Bucket, Bucket, ManualClock]:
    """Two buckets on one clock with the same CAS counter: one for set_plain, one for store."""
    plain, clock = make()
    full, _ = make()
    full.clock = clock
    for bucket in (plain, full):
        bucket._cas = 100
    return plain, full, clock


def snapshot(bucket: Bucket) -> tuple:
    return (bucket.statistics(), bucket.mem_used, bucket.seqno,
            [(k, it.value, it.cas) for k, it in bucket.items()])


def fields(item: Item) -> tuple:
    return (item.key, item.value, item.flags, item.expiry, item.cas, item.datatype, item.seqno,
            item.lock_expiry)


def test_set_plain_matches_store():
    plain, full, clock = twins()
    cases = ((b"a", b"1", 0), (b"b", b"22", 5), (b"a", b"333", 0))
    for key, value, exp in cases:
        record = plain.set_plain(key, value, 9, exp, 1)
        status, expected = full.store(SET, key, value, 9, exp, 0, 1)
        assert status == Status.SUCCESS
        assert fields(Item.from_record(key, record)) == fields(expected)
        assert plain.records[key] is record
    plain.fast_counts[FAST_SETS] += len(cases)  # what the fast path adds for these SETs
    assert plain.statistics() == full.statistics()
    assert plain.mem_used == full.mem_used
    assert [fields(it) for _, it in plain.items()] == [fields(it) for _, it in full.items()]


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


def test_set_plain_over_a_live_expiring_item_matches_store():
    plain, full, clock = twins()
    for bucket in (plain, full):
        bucket.store(SET, b"k", b"old", 0, 50)
    clock.advance(10)
    record = plain.set_plain(b"k", b"newer", 2, 0, 0)
    status, expected = full.store(SET, b"k", b"newer", 2, 0)
    assert status == Status.SUCCESS and record is not None
    assert fields(Item.from_record(b"k", record)) == fields(expected)
    assert plain.mem_used == full.mem_used


def test_is_plain_follows_locks_and_expiry():
    bucket, clock = make()
    bucket.store(SET, b"hit", b"v", 3, 0)
    bucket.store(SET, b"locked", b"v", 0, 0)
    bucket.get_locked(b"locked", 10)
    bucket.store(SET, b"expiring", b"v", 0, 5)
    bucket.store(SET, b"later", b"v", 0, 50)
    clock.advance(6)
    before = snapshot(bucket)
    records = bucket.records
    assert bucket.is_plain(records[b"hit"])
    assert bucket.is_plain(records[b"later"])
    assert not bucket.is_plain(records[b"locked"])
    assert not bucket.is_plain(records[b"expiring"])
    assert snapshot(bucket) == before
    clock.advance(5)
    assert bucket.is_plain(records[b"locked"])  # the lock ran out
    assert bucket.unlock(b"locked", 0) == Status.ETMPFAIL


def test_set_plain_of_the_same_size_keeps_memory_exact():
    plain, full, clock = twins()
    for value in (b"abc", b"xyz", b"xyz", b"q"):
        plain.set_plain(b"k", value, 0, 0, 0)
        full.store(SET, b"k", value, 0, 0)
        assert plain.mem_used == full.mem_used
    assert plain.records[b"k"][0] == b"q"


def test_records_are_replaced_never_changed():
    """Listeners keep what they are given: lock and unlock swap in new records."""
    bucket, _ = make()
    status, item = bucket.store(SET, b"k", b"v", 1, 0)
    first = bucket.records[b"k"]
    status, locked = bucket.get_locked(b"k", 5)
    assert status == Status.SUCCESS and locked.lock_expiry > 0
    assert bucket.records[b"k"] is not first and first[-1] == 0.0
    assert bucket.unlock(b"k", locked.cas) == Status.SUCCESS
    assert bucket.records[b"k"][-1] == 0.0 and bucket.records[b"k"][2] == locked.cas
    assert item.lock_expiry == 0.0


def test_statistics_add_the_fast_path_counters_to_the_full_paths():
    bucket, _ = make()
    bucket.store(SET, b"k", b"v", 0, 0)
    bucket.get(b"k")
    bucket.fast_counts[FAST_GETS] += 3
    bucket.fast_counts[FAST_SETS] += 2
    figures = bucket.statistics()
    assert (figures["cmd_get"], figures["get_hits"], figures["get_misses"],
            figures["cmd_set"]) == (4, 4, 0, 3)
    assert bucket.stats["cmd_get"] == 1  # the full path's own counters are untouched
