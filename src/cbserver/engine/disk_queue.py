"""What the engine appends every mutation to: the disk queue storage attaches to a bucket.

Storage hands a queue to :meth:`Bucket.attach_disk_queue`; from then on each mutation
calls its ``push`` with the key, the new immutable record (a delete: its seqno) and the
value's size. Why not a mutation listener: the listener call per SET cost the event loop
about 0.4 µs, as much as the whole SET's own bookkeeping; ``push`` is one C call (see
:mod:`cbserver.storage.disk_queue`, which encodes the entry for the disk right there).
After a bucket flush the engine tells the queue's owner with ``on_flush``.
"""
from __future__ import annotations

from typing import Any, Protocol


class DiskQueueOwner(Protocol):
    """What a disk queue calls back (storage's flusher)."""

    def queue_poked(self, bucket: Any) -> None:
        """The queue just turned non-empty, or its bytes passed the queue's mark."""

    def on_flush(self, bucket: Any) -> None:
        """The bucket was flushed: queued mutations are void, the disk must be emptied."""


class DiskQueue(Protocol):
    """The part of a disk queue the engine uses."""

    owner: DiskQueueOwner

    def push(self, bucket: Any, key: bytes, state: Any, size: int) -> None:
        """Queue ``key`` and its new state (a record, or a delete's seqno), counting
        ``size`` bytes of value."""
