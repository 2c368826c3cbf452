"""The mutations a bucket owes the disk, appended by the engine itself on every change.

Storage hands a :class:`DiskQueue` to :meth:`Bucket.attach_disk_queue`; from then on
each mutation calls ``push``, which appends its key and new record (a delete: its
seqno) to ``entries``, flat, and adds its bytes to ``queued_bytes``. Why not a mutation
listener: the listener call per SET cost the event loop about 0.4 µs, as much as the
whole SET's own bookkeeping. ``push`` is C (:mod:`._disk_queue`) when that extension
was built and ``CBSERVER_PURE_PYTHON`` is not set, else :class:`PyDiskQueue`, the
reference it follows: in Python its byte count and length test made two int objects
per mutation, in C they are machine integers. The owner is only called back
(``queue_poked``) when the queue turns from empty to non-empty (wake the flusher) or
when ``queued_bytes`` passes ``mark`` (the backlog is over its limit), and
``on_flush`` after a bucket flush.

The owner empties the queue from another thread with ``take``, which returns every
whole pair queued: the C queue hands over its list and starts a new one (its ``push``
never lets go of the interpreter lock halfway); the Python one copies out the longest
even-length prefix and deletes it (appends are atomic, and a key whose record is not
appended yet stays for the next take). ``entries`` is therefore read afresh each time,
never kept. ``queued_bytes`` is written by the event loop only; the owner moves
``mark`` as it retires bytes.
"""
from __future__ import annotations

import logging
from typing import Any, Protocol

from ..pure_python import pure_python_requested

log = logging.getLogger(__name__)

#: Bytes of bookkeeping counted per queued mutation on top of its value.
ENTRY_OVERHEAD = 64


class DiskQueueOwner(Protocol):
    """What a :class:`DiskQueue` calls back (storage's flusher)."""

    def queue_poked(self, bucket: Any) -> None:
        """The queue just turned non-empty, or ``queued_bytes`` passed ``mark``."""

    def on_flush(self, bucket: Any) -> None:
        """The bucket was flushed: queued mutations are void, the disk must be emptied."""


class PyDiskQueue:
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

    def push(self, bucket: Any, key: bytes, state: Any, size: int) -> None:
        """Queue ``key`` and its new state (a record, or a delete's seqno), counting
        ``size`` bytes of value plus :data:`ENTRY_OVERHEAD`, before the appends (a
        batch taken in between then never retires bytes it does not hold twice)."""
        self.queued_bytes = queued = self.queued_bytes + size + ENTRY_OVERHEAD
        entries = self.entries
        entries.append(key)
        entries.append(state)
        if len(entries) == 2 or queued > self.mark:
            self.owner.queue_poked(bucket)

    def take(self) -> list[Any]:
        """Return every whole pair queued so far, oldest first, and leave the rest."""
        entries = self.entries
        count = len(entries) & -2
        taken = entries[:count]
        del entries[:count]
        return taken


def load_c() -> type | None:
    """Return the C DiskQueue, or None when the extension was not built (raises
    RuntimeError if it was built with another entry overhead)."""
    try:
        from . import _disk_queue
    except ImportError as exc:
        log.debug("disk queue: C extension unavailable (%s)", exc)
        return None
    if _disk_queue.ENTRY_OVERHEAD != ENTRY_OVERHEAD:
        raise RuntimeError(f"cbserver.engine._disk_queue counts {_disk_queue.ENTRY_OVERHEAD} "
                           f"bytes per entry, disk_queue.py {ENTRY_OVERHEAD}: rebuild it")
    return _disk_queue.DiskQueue


#: The DiskQueue in use: C unless it is missing or CBSERVER_PURE_PYTHON is set.
DiskQueue: Any = (None if pure_python_requested() else load_c()) or PyDiskQueue
