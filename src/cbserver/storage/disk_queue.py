"""A bucket's disk queue: every mutation encoded for the commit log as the engine makes it.

The flusher creates a :class:`DiskQueue` and attaches it to its bucket (the engine's
side is :mod:`cbserver.engine.disk_queue`). ``push`` encodes the key and its new state
(an engine record, or a delete's seqno) as one layout 3 entry (:mod:`.batch_codec`) at
the end of the batch being built, and adds the value's bytes plus
:data:`ENTRY_OVERHEAD` to ``queued_bytes``; the owner is only called back
(``queue_poked``) when the queue turns non-empty (wake the flusher) or when
``queued_bytes`` passes ``mark`` (the backlog is over its limit). A bad entry raises
TypeError or ValueError naming the field, and queues nothing.

Why encode on the event loop: the record was made a moment before, in the cache of the
same core, so encoding it there costs a few tens of nanoseconds; the flusher's thread
then never reads, holds or frees a Python object of the batch, which had taken about
45% of that thread's time (reading records made on another core, and freeing them).

The flusher takes the batch from its own thread with ``take(floor)``, which returns
``(payload, count, seqno)``: the whole layout 3 payload, ready to append to the log, its
number of entries, and its seqno (the newest entry's, at least ``floor``); the queue
starts a new batch. ``push`` is C (:mod:`._disk_queue`) when that extension was built
and ``CBSERVER_PURE_PYTHON`` is not set, else :class:`PyDiskQueue`, the reference it
follows (each entry one list element, so that an append is atomic and a take between
two pushes never sees half an entry). ``queued_bytes`` is written by the event loop
only; the owner moves ``mark`` as it retires bytes.
"""
from __future__ import annotations

import logging
from typing import Any

from ..engine.disk_queue import DiskQueueOwner
from ..pure_python import pure_python_requested
from .batch_codec import I64_MAX, batch_payload, encode_entry_python, entry_seqno

log = logging.getLogger(__name__)

#: Bytes of bookkeeping counted per queued mutation on top of its value.
ENTRY_OVERHEAD = 64


class PyDiskQueue:
    """Encoded entries in mutation order, with their byte count and its limit."""

    __slots__ = ("_entries", "queued_bytes", "mark", "owner")

    def __init__(self, owner: DiskQueueOwner, mark: int) -> None:
        self._entries: list[bytes] = []
        #: Bytes ever queued (cumulative), written by the event loop only.
        self.queued_bytes = 0
        #: ``queued_bytes`` past which the owner is poked (it raises the mark as the
        #: disk catches up).
        self.mark = mark
        self.owner = owner

    @property
    def count(self) -> int:
        """Return the number of entries queued since the last take."""
        return len(self._entries)

    def push(self, bucket: Any, key: bytes, state: Any, size: int) -> None:
        """Queue ``key`` and its new state (a record, or a delete's seqno) as one encoded
        entry, counting ``size`` bytes of value plus :data:`ENTRY_OVERHEAD`."""
        if not isinstance(size, int):
            raise TypeError(f"DiskQueue.push: size must be an int, not {type(size).__name__}")
        if size > I64_MAX:
            raise OverflowError(f"DiskQueue.push: size {size} does not fit 64 bits")
        if size < 0:
            raise ValueError(f"DiskQueue.push: size must not be negative, not {size}")
        entry = encode_entry_python(key, state, "DiskQueue.push: ")
        self.queued_bytes = queued = self.queued_bytes + size + ENTRY_OVERHEAD
        entries = self._entries
        entries.append(entry)
        if len(entries) == 1 or queued > self.mark:
            self.owner.queue_poked(bucket)

    def take(self, floor: int) -> tuple[bytes, int, int]:
        """Return ``(payload, count, seqno)`` of every entry queued so far, oldest first,
        and leave the queue empty (an entry pushed meanwhile stays for the next take)."""
        if not isinstance(floor, int):
            raise TypeError(f"DiskQueue.take: floor must be an int, not {type(floor).__name__}")
        if not 0 <= floor < 2**64:
            raise OverflowError(f"DiskQueue.take: floor {floor} is not an unsigned 64-bit int")
        entries = self._entries
        count = len(entries)
        taken = entries[:count]
        del entries[:count]
        seqno = max(floor, entry_seqno(taken[-1])) if taken else floor
        return batch_payload(seqno, taken), count, seqno


def load_c() -> type | None:
    """Return the C DiskQueue, or None when the extension was not built (raises
    RuntimeError if it was built with another entry overhead)."""
    try:
        from . import _disk_queue
    except ImportError as exc:
        log.debug("disk queue: C extension unavailable (%s)", exc)
        return None
    if _disk_queue.ENTRY_OVERHEAD != ENTRY_OVERHEAD:
        raise RuntimeError(f"cbserver.storage._disk_queue counts {_disk_queue.ENTRY_OVERHEAD} "
                           f"bytes per entry, disk_queue.py {ENTRY_OVERHEAD}: rebuild it")
    return _disk_queue.DiskQueue


#: The DiskQueue in use: C unless it is missing or CBSERVER_PURE_PYTHON is set.
DiskQueue: Any = (None if pure_python_requested() else load_c()) or PyDiskQueue
