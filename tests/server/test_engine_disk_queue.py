"""The engine's disk queue: every mutation appended, in order, with its bytes; the owner
poked only when the queue turns non-empty or passes its mark, and told of flushes. The C
queue and the Python reference are held to the same tests; the C one also to its
selection, reference counts, garbage collection and a warning-free compile."""
from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path

import pytest
from clocks import ManualClock
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)

from cbserver.engine import Bucket, BucketSettings, disk_queue
from cbserver.engine.bucket import SET
from cbserver.engine.disk_queue import ENTRY_OVERHEAD, PyDiskQueue

SOURCE = Path(disk_queue.__file__).with_name("_disk_queue.c")
C_QUEUE = disk_queue.load_c()
IMPLEMENTATIONS = [pytest.param(PyDiskQueue, id="python"),
                   pytest.param(C_QUEUE, id="c", marks=pytest.mark.skipif(
                       C_QUEUE is None, reason="the C extension was not built"))]
WHICH = "from cbserver.engine import disk_queue; print(disk_queue.DiskQueue.__module__)"


class Owner:
    def __init__(self) -> None:
        self.pokes: list[int] = []
        self.flushes = 0

    def queue_poked(self, bucket) -> None:
        self.pokes.append(len(bucket.disk_queue.entries))

    def on_flush(self, bucket) -> None:
        self.flushes += 1


@pytest.fixture(params=IMPLEMENTATIONS)
def queue_type(request) -> type:
    return request.param


class Quiet:
    def queue_poked(self, bucket) -> None:
        pass

    def on_flush(self, bucket) -> None:
        pass


def attached(queue_type: type, mark: int = 1 << 30) -> tuple[Bucket, object, Owner, ManualClock]:
    clock = ManualClock()
    bucket = Bucket(BucketSettings("b", ram_quota=1 << 20), clock=clock)
    owner = Owner()
    queue = queue_type(owner, mark)
    bucket.attach_disk_queue(queue)
    return bucket, queue, owner, clock


def test_every_path_appends_key_and_state_in_mutation_order(queue_type) -> None:
    bucket, queue, _, clock = attached(queue_type)
    fast = bucket.set_plain(b"a", b"1", 0, 0, 0)
    _, full = bucket.store(SET, b"b", b"22", 3, 0)
    bucket.delete(b"a")
    deleted_at = bucket.seqno
    bucket.store(SET, b"c", b"x", 0, 5)
    clock.advance(10)
    assert bucket.get(b"c") is None  # expired on access: queued as a delete
    entries = queue.entries
    assert entries[:4] == [b"a", fast, b"b", bucket.records[b"b"]]
    assert full.cas == entries[3][2]
    assert entries[4:6] == [b"a", deleted_at]
    assert entries[6] == b"c" and entries[8:] == [b"c", bucket.seqno]
    assert queue.queued_bytes == 5 * ENTRY_OVERHEAD + 1 + 2 + 1


def test_owner_is_poked_when_the_queue_turns_non_empty_and_over_its_mark(queue_type) -> None:
    bucket, queue, owner, _ = attached(queue_type, mark=2 * ENTRY_OVERHEAD + 10)
    bucket.set_plain(b"a", b"12345", 0, 0, 0)
    bucket.store(SET, b"b", b"12345", 0, 0)
    assert owner.pokes == [2]  # first pair in; 138 bytes queued, mark 138 not passed
    queue.entries.clear()  # the flusher took the batch
    bucket.set_plain(b"c", b"1", 0, 0, 0)
    assert owner.pokes == [2, 2]  # non-empty again, and over the mark
    queue.mark = 1 << 30
    bucket.set_plain(b"d", b"1", 0, 0, 0)
    assert owner.pokes == [2, 2]


def test_flush_tells_the_owner_and_detach_stops_queueing(queue_type) -> None:
    bucket, queue, owner, _ = attached(queue_type)
    bucket.set_plain(b"a", b"1", 0, 0, 0)
    bucket.flush()
    assert owner.flushes == 1
    bucket.detach_disk_queue()
    bucket.set_plain(b"b", b"1", 0, 0, 0)
    bucket.flush()
    assert queue.entries == [b"a", queue.entries[1]] and owner.flushes == 1


def test_an_owner_that_raises_reaches_the_caller_after_the_pair_is_queued(queue_type) -> None:
    class Failing(Owner):
        def queue_poked(self, bucket) -> None:
            raise OSError("wake failed")

    queue = queue_type(Failing(), 1 << 30)
    with pytest.raises(OSError, match="wake failed"):
        queue.push(None, b"k", 7, 0)
    assert queue.entries == [b"k", 7] and queue.queued_bytes == ENTRY_OVERHEAD


@pytest.mark.skipif(C_QUEUE is None, reason="the C extension was not built")
@pytest.mark.parametrize("args, error", [
    ((None, b"k", 1), TypeError), ((None, b"k", 1, -1), ValueError),
    ((None, b"k", 1, "3"), TypeError), ((None, b"k", 1, 1 << 70), OverflowError),
])
def test_c_push_refuses_bad_arguments_and_queues_nothing(args, error) -> None:
    queue = C_QUEUE(Owner(), 1 << 30)
    with pytest.raises(error):
        queue.push(*args)
    assert queue.entries == [] and queue.queued_bytes == 0


@pytest.mark.skipif(C_QUEUE is None, reason="the C extension was not built")
def test_c_queue_leaks_nothing_and_a_cycle_through_its_owner_is_collected() -> None:
    owner, key, record = Quiet(), b"key", (b"v" * 100, 0, 1, 0, 1, 0, 0.0)
    before = [sys.getrefcount(each) for each in (owner, key, record)]

    def run() -> None:
        for _ in range(200):
            queue = C_QUEUE(owner, 1 << 30)
            for _ in range(20):
                queue.push(None, key, record, 100)
            queue.mark = queue.queued_bytes // 2
            assert queue.mark == 10 * (100 + ENTRY_OVERHEAD)

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
    ("1", "cbserver.engine.disk_queue"), ("", "cbserver.engine._disk_queue")])
def test_cbserver_pure_python_selects_the_python_queue(value, expected) -> None:
    if C_QUEUE is None and expected.endswith("_disk_queue"):
        pytest.skip("the C extension was not built")
    assert printed_in_child(WHICH, CBSERVER_PURE_PYTHON=value) == expected


def test_the_source_compiles_without_warnings(tmp_path) -> None:
    assert_compiles_without_warnings(SOURCE, tmp_path)


def test_take_hands_over_every_pair_and_later_pushes_start_afresh(queue_type) -> None:
    queue = queue_type(Quiet(), 1 << 30)
    for i in range(3):
        queue.push(None, b"k%d" % i, i, 1)
    assert queue.take() == [b"k0", 0, b"k1", 1, b"k2", 2]
    assert queue.entries == [] and queue.queued_bytes == 3 * (1 + ENTRY_OVERHEAD)
    queue.push(None, b"k3", 3, 1)
    assert queue.take() == [b"k3", 3]


def test_python_take_leaves_a_key_whose_state_is_not_queued_yet() -> None:
    queue = PyDiskQueue(Quiet(), 1 << 30)
    queue.push(None, b"k0", 0, 1)
    queue.entries.append(b"k1")  # a push interrupted between its two appends
    assert queue.take() == [b"k0", 0] and queue.entries == [b"k1"]
