"""The disk queue: every mutation encoded as a layout 3 entry, in order, with its bytes;
the owner poked only when the queue turns non-empty or passes its mark, and told of
flushes; ``take`` hands over the whole batch as one payload. The C queue and the Python
reference are held to the same tests and to each other's bytes; the C one also to its
selection, reference counts, garbage collection and a warning-free compile."""
from __future__ import annotations

import gc
import sys
import threading
import weakref
from pathlib import Path

import pytest
from support.clocks import ManualClock
from hypothesis import given, settings, strategies as st
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)
from support.threads import run_threads

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import SET
from cbserver.storage import disk_queue
from cbserver.storage.batch_codec import (U32_MAX, U64_MAX, decode_batch3, encode_batch,
                                          merge_batches)
from cbserver.storage.disk_queue import ENTRY_OVERHEAD, PyDiskQueue

SOURCE = Path(disk_queue.__file__).with_name("_disk_queue.c")
C_QUEUE = disk_queue.load_c()
NEEDS_C = pytest.mark.skipif(C_QUEUE is None, reason="the C extension was not built")
IMPLEMENTATIONS = [pytest.param(PyDiskQueue, id="python"),
                   pytest.param(C_QUEUE, id="c", marks=NEEDS_C)]
WHICH = "from cbserver.storage import disk_queue; print(disk_queue.DiskQueue.__module__)"


class Owner:
    def __init__(self) -> None:
        self.pokes: list[int] = []
        self.flushes = 0

    def queue_poked(self, bucket) -> None:
        self.pokes.append(bucket.disk_queue.count)

    def on_flush(self, bucket) -> None:
        self.flushes += 1


class Quiet:
    def queue_poked(self, bucket) -> None:
        pass

    def on_flush(self, bucket) -> None:
        pass


@pytest.fixture(params=IMPLEMENTATIONS)
def queue_type(request) -> type:
    return request.param


def attached(queue_type: type, mark: int = 1 << 30) -> tuple[Bucket, object, Owner, ManualClock]:
    clock = ManualClock()
    bucket = Bucket(BucketSettings("b", ram_quota=1 << 20), clock=clock)
    owner = Owner()
    queue = queue_type(owner, mark)
    bucket.attach_disk_queue(queue)
    return bucket, queue, owner, clock


def taken_entries(queue, floor: int = 0) -> tuple[int, list, int]:
    """Take the batch; return (seqno, entries decoded, count), checking the header."""
    payload, count, seqno = queue.take(floor)
    assert type(payload) is bytes
    decoded_seqno, entries = decode_batch3(payload)
    assert decoded_seqno == seqno and len(entries) == 2 * count
    return seqno, entries, count


def test_every_path_queues_key_and_state_in_mutation_order(queue_type) -> None:
    bucket, queue, _, clock = attached(queue_type)
    fast = bucket.set_plain(b"a", b"1", 0, 0, 0)
    _, full = bucket.store(SET, b"b", b"22", 3, 0)
    bucket.delete(b"a")
    deleted_at = bucket.seqno
    bucket.store(SET, b"c", b"x", 0, 5)
    clock.advance(10)
    assert bucket.get(b"c") is None  # expired on access: queued as a delete
    assert queue.count == 5
    seqno, entries, count = taken_entries(queue)
    assert entries[:4] == [b"a", fast, b"b", bucket.records[b"b"]]
    assert full.cas == entries[3][2]
    assert entries[4:6] == [b"a", deleted_at]
    assert entries[6] == b"c" and entries[8:] == [b"c", bucket.seqno]
    assert (seqno, count, queue.count) == (bucket.seqno, 5, 0)
    assert queue.queued_bytes == 5 * ENTRY_OVERHEAD + 1 + 2 + 1


def test_owner_is_poked_when_the_queue_turns_non_empty_and_over_its_mark(queue_type) -> None:
    bucket, queue, owner, _ = attached(queue_type, mark=2 * ENTRY_OVERHEAD + 10)
    bucket.set_plain(b"a", b"12345", 0, 0, 0)
    bucket.store(SET, b"b", b"12345", 0, 0)
    assert owner.pokes == [1]  # first entry in; 138 bytes queued, mark 138 not passed
    queue.take(0)  # the flusher took the batch
    bucket.set_plain(b"c", b"1", 0, 0, 0)
    assert owner.pokes == [1, 1]  # non-empty again, and over the mark
    queue.mark = 1 << 30
    bucket.set_plain(b"d", b"1", 0, 0, 0)
    assert owner.pokes == [1, 1]


def test_flush_tells_the_owner_and_detach_stops_queueing(queue_type) -> None:
    bucket, queue, owner, _ = attached(queue_type)
    bucket.set_plain(b"a", b"1", 0, 0, 0)
    bucket.flush()
    assert owner.flushes == 1
    bucket.detach_disk_queue()
    bucket.set_plain(b"b", b"1", 0, 0, 0)
    bucket.flush()
    assert queue.count == 1 and owner.flushes == 1
    assert taken_entries(queue)[1][0] == b"a"


def test_an_owner_that_raises_reaches_the_caller_after_the_entry_is_queued(queue_type) -> None:
    class Failing(Owner):
        def queue_poked(self, bucket) -> None:
            raise OSError("wake failed")

    queue = queue_type(Failing(), 1 << 30)
    with pytest.raises(OSError, match="wake failed"):
        queue.push(None, b"k", 7, 0)
    assert queue.count == 1 and queue.queued_bytes == ENTRY_OVERHEAD
    assert taken_entries(queue)[1] == [b"k", 7]


@pytest.mark.parametrize("args, error", [
    ((None, b"k", 1), TypeError), ((None, b"k", 1, -1), ValueError),
    ((None, b"k", 1, "3"), TypeError), ((None, b"k", 1, 1 << 70), OverflowError),
])
def test_push_refuses_bad_arguments_and_queues_nothing(queue_type, args, error) -> None:
    queue = queue_type(Owner(), 1 << 30)
    with pytest.raises(error):
        queue.push(*args)
    assert queue.count == 0 and queue.queued_bytes == 0


@pytest.mark.parametrize("key, state, error, message", [
    ("k", 1, TypeError, "the key must be bytes, not str"),
    (b"", 1, ValueError, "the key is 0 bytes long (1..65535 allowed)"),
    (b"k", -1, ValueError, "the delete's seqno -1 is out of range"),
    (b"k", "1", TypeError, "the state must be a record tuple of 7 items or a delete's seqno"),
    (b"k", (b"v", 0, 1), TypeError, "not a tuple of 3 items"),
    (b"k", ("v", 0, 1, 0, 1, 0, 0.0), TypeError, "value must be bytes, not str"),
    (b"k", (b"v", 1 << 32, 1, 0, 1, 0, 0.0), ValueError, "flags 4294967296 is out of range"),
    (b"k", (b"v", 0, 1, 256, 1, 0, 0.0), ValueError, "datatype 256 is out of range"),
    (b"k", (b"v", 0, 1, 0, True, 0, 0.0), TypeError, "seqno must be an int, not bool"),
])
def test_a_bad_entry_is_refused_naming_the_field_and_queues_nothing(queue_type, key, state,
                                                                   error, message) -> None:
    queue = queue_type(Quiet(), 1 << 30)
    queue.push(None, b"before", 3, 0)
    with pytest.raises(error) as refused:
        queue.push(None, key, state, 1)
    assert str(refused.value).startswith("DiskQueue.push: ") and message in str(refused.value)
    assert queue.count == 1 and queue.queued_bytes == ENTRY_OVERHEAD
    assert taken_entries(queue)[1] == [b"before", 3]


def test_take_hands_over_the_batch_and_later_pushes_start_afresh(queue_type) -> None:
    queue = queue_type(Quiet(), 1 << 30)
    for i in range(3):
        queue.push(None, b"k%d" % i, i + 10, 1)
    assert taken_entries(queue) == (12, [b"k0", 10, b"k1", 11, b"k2", 12], 3)
    assert queue.count == 0 and queue.queued_bytes == 3 * (1 + ENTRY_OVERHEAD)
    queue.push(None, b"k3", 13, 1)
    assert taken_entries(queue, floor=20) == (20, [b"k3", 13], 1)  # a flush's seqno wins
    assert taken_entries(queue, floor=5) == (5, [], 0)
    with pytest.raises(TypeError):
        queue.take("5")
    with pytest.raises((ValueError, OverflowError)):
        queue.take(-1)


def test_batches_of_any_size_come_out_whole(queue_type) -> None:
    queue = queue_type(Quiet(), 1 << 62)
    for batch in (1, 3000, 10, 700):  # grows past its capacity, then starts larger
        entries = []
        for i in range(batch):
            record = (bytes([i % 251]) * (i % 900), i, i + 1, 1, i + 1, 0, 0.0)
            queue.push(None, b"key-%d" % i, record, len(record[0]))
            entries += [b"key-%d" % i, record]
        payload, count, seqno = queue.take(0)
        assert payload == encode_batch(batch, entries) and (count, seqno) == (batch, batch)


STATES = st.one_of(
    st.integers(0, U64_MAX),
    st.tuples(st.binary(max_size=40), st.integers(0, U32_MAX), st.integers(0, U64_MAX),
              st.integers(0, 255), st.integers(0, U64_MAX), st.integers(0, U32_MAX),
              st.just(0.0)))


@NEEDS_C
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=20), STATES), max_size=30),
       st.integers(0, U64_MAX))
def test_c_and_python_queues_make_the_same_bytes_as_encode_batch(changes, floor) -> None:
    queues = [C_QUEUE(Quiet(), 1 << 30), PyDiskQueue(Quiet(), 1 << 30)]
    entries = []
    for key, state in changes:
        entries += [key, state]
        for queue in queues:
            queue.push(None, key, state, 0)
    last = entries[-1] if entries else floor
    seqno = max(floor, last if isinstance(last, int) else last[4]) if entries else floor
    expected = (encode_batch(seqno, entries), len(changes), seqno)
    assert [queue.take(floor) for queue in queues] == [expected, expected]


def test_a_take_racing_pushes_sees_each_entry_exactly_once(queue_type) -> None:
    queue = queue_type(Quiet(), 1 << 62)
    pushed = 20_000
    done = threading.Event()
    taken: list = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def work(n: int) -> None:
        if n == 0:
            for i in range(pushed):
                queue.push(None, b"k%d" % i, i + 1, 0)
            done.set()
            return
        while not done.is_set() or queue.count:
            taken.extend(taken_entries(queue)[1])

    try:
        run_threads(work, 2)
    finally:
        sys.setswitchinterval(interval)
    assert taken == [item for i in range(pushed) for item in (b"k%d" % i, i + 1)]


def test_merged_batches_keep_their_order_and_the_highest_seqno() -> None:
    first = encode_batch(7, [b"a", 5, b"b", 7])
    second = encode_batch(9, [b"a", (b"v", 0, 1, 0, 8, 0, 0.0)])
    payload, count, seqno = merge_batches([first, second, encode_batch(3, [])])
    assert (count, seqno) == (3, 9)
    assert decode_batch3(payload) == (9, [b"a", 5, b"b", 7, b"a", (b"v", 0, 1, 0, 8, 0, 0.0)])


@NEEDS_C
def test_c_queue_leaks_nothing_and_a_cycle_through_its_owner_is_collected() -> None:
    owner, key, record = Quiet(), b"key", (b"v" * 100, 0, 1, 0, 1, 0, 0.0)
    before = [sys.getrefcount(each) for each in (owner, key, record)]

    def run() -> None:
        for _ in range(200):
            queue = C_QUEUE(owner, 1 << 30)
            for _ in range(20):
                queue.push(None, key, record, 100)
            with pytest.raises(ValueError):
                queue.push(None, b"", record, 1)
            queue.mark = queue.queued_bytes // 2
            assert queue.mark == 10 * (100 + ENTRY_OVERHEAD)
            assert queue.take(0)[1] == 20

    assert traced_growth(run, __file__) < 16_384
    assert [sys.getrefcount(each) for each in (owner, key, record)] == before

    class Holder(Quiet):
        pass

    holder = Holder()
    holder.queue = C_QUEUE(holder, 0)
    gone = weakref.ref(holder)
    del holder
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("value, expected", [
    ("1", "cbserver.storage.disk_queue"), ("", "cbserver.storage._disk_queue")])
def test_cbserver_pure_python_selects_the_python_queue(value, expected) -> None:
    if C_QUEUE is None and expected.endswith("_disk_queue"):
        pytest.skip("the C extension was not built")
    assert printed_in_child(WHICH, CBSERVER_PURE_PYTHON=value) == expected


def test_the_source_compiles_without_warnings(tmp_path) -> None:
    assert_compiles_without_warnings(SOURCE, tmp_path)
