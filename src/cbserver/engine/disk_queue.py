"""The mutations a bucket owes the disk, appended by the engine itself on every change.

Storage hands a :class:`DiskQueue` to :meth:`Bucket.attach_disk_queue`; from then on
each mutation appends its key and new record (a delete: its seqno) to ``entries``,
flat, and adds its bytes to ``queued_bytes``, inline in the mutation's own code. Why
not a mutation listener: the listener call per SET cost the event loop about 0.4 µs,
as much as the whole SET's own bookkeeping; two ``list.append`` calls and an integer
add cost a tenth of that. The owner is only called back (``queue_poked``) when the
queue turns from empty to non-empty (wake the flusher) or when ``queued_bytes``
passes ``mark`` (the backlog is over its limit), and ``on_flush`` after a bucket flush.

The owner empties ``entries`` from another thread: appends are atomic under the
interpreter lock, and it takes the longest even-length prefix (whole pairs), so a key
whose record is not appended yet stays for the next batch. ``queued_bytes`` is
written by the event loop only; the owner moves ``mark`` as it retires bytes.
"""
from __future__ import annotations

from typing import Any, Protocol

#: Bytes of bookkeeping counted per queued mutation on top of its value.
ENTRY_OVERHEAD = 64


class DiskQueueOwner(Protocol):
    """What a :class:`DiskQueue` calls back (storage's flusher)."""

    def queue_poked(self, bucket: Any) -> None:
        """The queue just turned non-empty, or ``queued_bytes`` passed ``mark``."""

    def on_flush(self, bucket: Any) -> None:
        """The bucket was flushed: queued mutations are void, the disk must be emptied."""


class DiskQueue:
    """Flat ``key, state`` pairs in mutation order, with their byte count and its limit."""

    __slots__ = ("entries", "queued_bytes", "mark", "owner")

    def __init__(self, owner: DiskQueueOwner, mark: int) -> None:
        #: ``key, record`` for a write, ``key, seqno`` for a delete or expiry.
        self.entries: list[Any] = []
        #: Bytes ever queued (cumulative), written by the event loop only.
        self.queued_bytes = 0
        #: ``queued_bytes`` past which the owner is poked (it raises the mark as the
        #: disk catches up).
        self.mark = mark
        self.owner = owner
