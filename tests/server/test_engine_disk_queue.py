"""The engine's disk queue: every mutation appended inline, in order, with its bytes; the
owner poked only when the queue turns non-empty or passes its mark, and told of flushes."""
from __future__ import annotations

from clocks import ManualClock

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import SET
from cbserver.engine.disk_queue import ENTRY_OVERHEAD, DiskQueue


class Owner:
    def __init__(self) -> None:
        self.pokes: list[int] = []
        self.flushes = 0

    def queue_poked(self, bucket) -> None:
        self.pokes.append(len(bucket.disk_queue.entries))

    def on_flush(self, bucket) -> None:
        self.flushes += 1


def attached(mark: int = 1 << 30) -> tuple[Bucket, DiskQueue, Owner, ManualClock]:
    clock = ManualClock()
    bucket = Bucket(BucketSettings("b", ram_quota=1 << 20), clock=clock)
    owner = Owner()
    queue = DiskQueue(owner, mark)
    bucket.attach_disk_queue(queue)
    return bucket, queue, owner, clock


def test_every_path_appends_key_and_state_in_mutation_order() -> None:
    bucket, queue, _, clock = attached()
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


def test_owner_is_poked_when_the_queue_turns_non_empty_and_over_its_mark() -> None:
    bucket, queue, owner, _ = attached(mark=2 * ENTRY_OVERHEAD + 10)
    bucket.set_plain(b"a", b"12345", 0, 0, 0)
    bucket.store(SET, b"b", b"12345", 0, 0)
    assert owner.pokes == [2]  # first pair in; 138 bytes queued, mark 138 not passed
    queue.entries.clear()  # the flusher took the batch
    bucket.set_plain(b"c", b"1", 0, 0, 0)
    assert owner.pokes == [2, 2]  # non-empty again, and over the mark
    queue.mark = 1 << 30
    bucket.set_plain(b"d", b"1", 0, 0, 0)
    assert owner.pokes == [2, 2]


def test_flush_tells_the_owner_and_detach_stops_queueing() -> None:
    bucket, queue, owner, _ = attached()
    bucket.set_plain(b"a", b"1", 0, 0, 0)
    bucket.flush()
    assert owner.flushes == 1
    bucket.detach_disk_queue()
    bucket.set_plain(b"b", b"1", 0, 0, 0)
    bucket.flush()
    assert queue.entries == [b"a", queue.entries[1]] and owner.flushes == 1
