"""A bucket: the in-memory hash table with CAS, 2.x lock semantics, expiry, memory
quota, flush and the mutation subscription of the engine package docstring."""
from __future__ import annotations

import logging
import re
import time
import uuid
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from couchbase.protocol import ARITH_NO_CREATE, MAX_VALUE_LEN, ObserveState, Status

from .clock import absolute_expiry
from .disk_queue import DiskQueue
from .item import CAS, DATATYPE, EXPIRY, FLAGS, LOCK_EXPIRY, SEQNO, VALUE, Item, Record

log = logging.getLogger(__name__)

#: Bytes charged per item on top of key and value (metadata, hash-table slot).
ITEM_OVERHEAD = 64
#: GET_LOCKED lock times of EP-engine 2.x (protocol.md 1.2): default and maximum.
DEFAULT_LOCK_SECONDS = 15
MAX_LOCK_SECONDS = 30
_U64 = 1 << 64
_COUNTER = re.compile(rb"[ \t\n\r\f\v]*([0-9]+)(?:[ \t\n\r\f\v]|\Z)")

SUCCESS = Status.SUCCESS
ENOENT = Status.KEY_ENOENT
EEXISTS = Status.KEY_EEXISTS
NOT_STORED = Status.NOT_STORED
ETMPFAIL = Status.ETMPFAIL
ENOMEM = Status.ENOMEM
E2BIG = Status.E2BIG
DELTA_BADVAL = Status.DELTA_BADVAL

SET, ADD, REPLACE = "set", "add", "replace"


class MutationListener(Protocol):
    """What ``Bucket.subscribe`` expects (see the package docstring)."""

    def on_mutation(self, bucket: "Bucket", key: bytes, record: Record | None) -> None: ...

    def on_flush(self, bucket: "Bucket") -> None: ...


@dataclass
class BucketSettings:
    """Settings of a bucket as REST shows and changes them."""

    name: str
    password: str = ""
    bucket_type: str = "membase"
    ram_quota: int = 256 * 1024 * 1024
    num_vbuckets: int = 1024
    replica_number: int = 0
    flush_enabled: bool = False
    proxy_port: int = 0
    uuid: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def auth_type(self) -> str:
        """2.x authType: buckets without a proxy port authenticate through SASL."""
        return "none" if self.proxy_port and not self.password else "sasl"


class Bucket:
    """One bucket's documents and the operations of the binary protocol on them.

    Methods return a :class:`~couchbase.protocol.Status` code first so the KV layer can
    answer without exceptions on the hot path.
    """

    def __init__(self, settings: BucketSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.deleted = False
        self.seqno = 0
        self.mem_used = 0
        self.persisted_seqno: int | None = None
        #: Set by storage: True while loading from disk (data operations get ETMPFAIL) and
        #: while the disk backlog is too large (writes get ETMPFAIL until it shrinks).
        self.warming_up = False
        self.throttled = False
        self.vbucket_uuid = int(settings.uuid[:16], 16)
        #: Operation counters of the full path; :meth:`statistics` adds the fast path's.
        self.stats: dict[str, int] = dict.fromkeys(STAT_NAMES, 0)
        #: GET hits and SETs the KV fast path served (indexes :data:`FAST_GETS`,
        #: :data:`FAST_SETS`): machine integers it adds to in place once per read.
        self.fast_counts = array("q", bytes(8 * FAST_COUNTS))
        #: key -> :data:`~.item.Record`. The KV fast path reads it directly; everything
        #: else goes through the methods below.
        self.records: dict[bytes, Record] = {}
        self._tombstones: dict[bytes, int] = {}
        self._cas = time.time_ns()
        self._listeners: list[MutationListener] = []
        #: The listeners' bound ``on_mutation`` methods, bound once per subscription.
        self._on_mutation: tuple[Callable[["Bucket", bytes, Record | None], None], ...] = ()
        #: What storage persists: every mutation is appended here (see :mod:`.disk_queue`).
        self.disk_queue: DiskQueue | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def password(self) -> str:
        return self.settings.password

    @property
    def num_vbuckets(self) -> int:
        return self.settings.num_vbuckets

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"Bucket({self.name!r}, items={len(self.records)}, mem_used={self.mem_used})"

    # -- subscription ----------------------------------------------------------------

    def subscribe(self, listener: MutationListener) -> None:
        """Call ``listener`` after every mutation, expiry and flush from now on."""
        self._listeners.append(listener)
        self._on_mutation = tuple(each.on_mutation for each in self._listeners)

    def unsubscribe(self, listener: MutationListener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)
            self._on_mutation = tuple(each.on_mutation for each in self._listeners)

    def attach_disk_queue(self, queue: DiskQueue) -> None:
        """Append every mutation from now on to ``queue``, and tell its owner of flushes."""
        self.disk_queue = queue

    def detach_disk_queue(self) -> None:
        """Stop queueing mutations for the disk (the bucket is deleted or the node stops)."""
        self.disk_queue = None

    def items(self) -> list[tuple[bytes, Item]]:
        """Snapshot of the live (key, Item) pairs."""
        now = self.clock()
        from_record = Item.from_record
        return [(key, from_record(key, record)) for key, record in self.records_snapshot()
                if not 0 < record[EXPIRY] <= now]

    def records_snapshot(self) -> list[tuple[bytes, Record]]:
        """Snapshot of every stored ``(key, record)`` pair, expired ones included.

        Costs one list of existing tuples, so the event loop can hand a whole bucket to
        another thread (the view indexer) without building an Item per document.
        """
        return list(self.records.items())

    def mark_persisted(self, seqno: int) -> None:
        """Record that every mutation up to ``seqno`` is on disk (drives OBSERVE)."""
        self.persisted_seqno = seqno
        if self._tombstones:
            self._tombstones = {k: s for k, s in self._tombstones.items() if s > seqno}

    def _notify(self, key: bytes, record: Record | None) -> None:
        """Hand ``record`` (None: deleted) to every listener; one failing listener is
        logged and does not keep the others from the change (the handler costs nothing
        until something raises)."""
        callback = None
        try:
            for callback in self._on_mutation:
                callback(self, key, record)
        except Exception:
            self._notify_after_failure(key, record, callback)

    def _notify_after_failure(self, key: bytes, record: Record | None,
                              failed: Callable[..., None] | None) -> None:
        """Log the listener that raised, then notify the listeners after it one by one."""
        log.exception("mutation listener %r failed on key %r in bucket %s",
                      failed, key, self.name)
        callbacks = self._on_mutation
        start = callbacks.index(failed) + 1 if failed in callbacks else len(callbacks)
        for callback in callbacks[start:]:
            try:
                callback(self, key, record)
            except Exception:
                log.exception("mutation listener %r failed on key %r in bucket %s",
                              callback, key, self.name)

    # -- internals -------------------------------------------------------------------

    def _next_cas(self) -> int:
        self._cas += 1
        return self._cas

    def _live(self, key: bytes, now: float) -> Record | None:
        record = self.records.get(key)
        if record is not None and 0 < record[EXPIRY] <= now:
            self._remove(key, record)
            self.stats["expired"] += 1
            return None
        return record

    def _remove(self, key: bytes, record: Record) -> None:
        del self.records[key]
        self.mem_used -= ITEM_OVERHEAD + len(key) + len(record[VALUE])
        self.seqno += 1
        if self.persisted_seqno is not None:
            self._tombstones[key] = self.seqno
        if self.disk_queue is not None:
            self.disk_queue.push(self, key, self.seqno, 0)
        if self._on_mutation:
            self._notify(key, None)

    def _install(self, key: bytes, old: Record | None, value: bytes, flags: int, expiry: int,
                 datatype: int) -> tuple[int, Item | None]:
        """Store a new record for ``key`` replacing ``old``; ENOMEM when over quota."""
        if self.throttled:
            return ETMPFAIL, None
        delta = len(value) - (len(old[VALUE]) if old is not None else -ITEM_OVERHEAD - len(key))
        if delta > 0 and self.mem_used + delta > self.settings.ram_quota:
            return ENOMEM, None
        record = self._commit(key, old, value, flags, expiry, datatype, delta)
        return SUCCESS, Item.from_record(key, record)

    def _commit(self, key: bytes, old: Record | None, value: bytes, flags: int, expiry: int,
                datatype: int, delta: int) -> Record:
        """Put the new record in place (quota already checked): new CAS and seqno, memory
        accounting by ``delta``, listeners told. :meth:`set_plain` inlines this body (it
        runs per fast-path SET): a change here belongs there too."""
        self.mem_used += delta
        self.seqno = seqno = self.seqno + 1
        self._cas = cas = self._cas + 1
        record = (value, flags, cas, datatype, seqno, expiry, 0.0)
        self.records[key] = record
        if old is None:
            self.stats["total_items"] += 1
        if self._tombstones:
            self._tombstones.pop(key, None)
        if self.disk_queue is not None:
            self.disk_queue.push(self, key, record, len(value))
        if self._on_mutation:
            self._notify(key, record)
        return record

    @staticmethod
    def _guard(record: Record, cas: int, now: float) -> int:
        """EEXISTS when a lock or a CAS mismatch forbids mutating ``record``."""
        if record[LOCK_EXPIRY] > now:
            return SUCCESS if cas == record[CAS] else EEXISTS
        if cas and cas != record[CAS]:
            return EEXISTS
        return SUCCESS

    # -- reads -----------------------------------------------------------------------

    def get(self, key: bytes) -> Item | None:
        """The live item for ``key`` or None; a locked item's CAS is hidden by the caller."""
        record = self._live(key, self.clock())
        stats = self.stats
        stats["cmd_get"] += 1
        if record is None:
            stats["get_misses"] += 1
            return None
        stats["get_hits"] += 1
        return Item.from_record(key, record)

    def is_plain(self, record: Record) -> bool:
        """True when ``record`` is neither locked nor expired now: the KV fast path may
        serve it (the clock is read only for records with an expiry or a lock)."""
        lock_expiry = record[LOCK_EXPIRY]
        expiry = record[EXPIRY]
        if not (lock_expiry or expiry):
            return True
        now = self.clock()
        return lock_expiry <= now and not 0 < expiry <= now

    def statistics(self) -> dict[str, int]:
        """The operation counters as STAT reports them: the full path's and the fast path's."""
        figures = dict(self.stats)
        gets, sets = self.fast_counts[FAST_GETS], self.fast_counts[FAST_SETS]
        figures["cmd_get"] += gets
        figures["get_hits"] += gets
        figures["cmd_set"] += sets
        return figures

    def is_locked(self, item: Item) -> bool:
        """True while ``item`` is under a GET_LOCKED lock."""
        return item.lock_expiry > self.clock()

    def key_locked(self, key: bytes) -> bool:
        """True while ``key`` holds a GET_LOCKED lock; no statistics change (status mapping)."""
        record = self.records.get(key)
        return record is not None and record[LOCK_EXPIRY] > self.clock()

    def observe(self, key: bytes) -> tuple[int, int]:
        """(ObserveState, cas) of ``key`` (protocol.md 1.5)."""
        record = self._live(key, self.clock())
        if record is not None:
            persisted = self.persisted_seqno is None or record[SEQNO] <= self.persisted_seqno
            return (ObserveState.PERSISTED if persisted else ObserveState.FOUND), record[CAS]
        if key in self._tombstones:
            return ObserveState.LOGICALLY_DELETED, 0
        return ObserveState.NOT_FOUND, 0

    # -- mutations -------------------------------------------------------------------

    def store(self, mode: str, key: bytes, value: bytes, flags: int, exptime: int, cas: int = 0,
              datatype: int = 0) -> tuple[int, Item | None]:
        """SET / ADD / REPLACE with the CAS and lock rules of protocol.md 1.2 and 2.3."""
        now = self.clock()
        old = self._live(key, now)
        self.stats["cmd_set"] += 1
        if mode == ADD:
            if old is not None:
                return EEXISTS, None
            if cas:
                return NOT_STORED, None
        elif old is None:
            if mode == REPLACE or cas:
                if cas:
                    self.stats["cas_misses"] += 1
                return ENOENT, None
        else:
            status = self._guard(old, cas, now)
            if status:
                if cas:
                    self.stats["cas_badval"] += 1
                return status, None
            if cas:
                self.stats["cas_hits"] += 1
        return self._install(key, old, value, flags, absolute_expiry(exptime, now), datatype)

    def set_plain(self, key: bytes, value: bytes, flags: int, exptime: int,
                  datatype: int) -> Record | None:
        """The KV fast path's SET without CAS: the new record when the SET is certain to
        succeed, else None with nothing changed (the caller falls back to :meth:`store`).
        The fast path counts its SETs in :attr:`fast_counts` once per read."""
        old = self.records.get(key)
        if old is None:
            delta = ITEM_OVERHEAD + len(key) + len(value)
        else:
            if (old[LOCK_EXPIRY] or old[EXPIRY]) and not self.is_plain(old):
                return None
            delta = len(value) - len(old[VALUE])
        if self.throttled or (delta > 0 and self.mem_used + delta > self.settings.ram_quota):
            return None
        # The body of _commit, inlined (one call less per SET); the memory figure is
        # only rewritten when it changes (each new int past 256 is an allocation).
        if delta:
            self.mem_used += delta
        self.seqno = seqno = self.seqno + 1
        self._cas = cas = self._cas + 1
        record = (value, flags, cas, datatype, seqno,
                  absolute_expiry(exptime, self.clock()) if exptime else 0, 0.0)
        self.records[key] = record
        if old is None:
            self.stats["total_items"] += 1
        if self._tombstones:
            self._tombstones.pop(key, None)
        if self.disk_queue is not None:
            self.disk_queue.push(self, key, record, len(value))
        if self._on_mutation:
            self._notify(key, record)
        return record

    def concat(self, key: bytes, data: bytes, append: bool, cas: int = 0) -> tuple[int, Item | None]:
        """APPEND / PREPEND: keep flags and expiry; NOT_STORED on a missing key."""
        now = self.clock()
        old = self._live(key, now)
        self.stats["cmd_set"] += 1
        if old is None:
            return NOT_STORED, None
        status = self._guard(old, cas, now)
        if status:
            return status, None
        value = old[VALUE] + data if append else data + old[VALUE]
        if len(value) > MAX_VALUE_LEN:
            return E2BIG, None
        return self._install(key, old, value, old[FLAGS], old[EXPIRY], 0)

    def delete(self, key: bytes, cas: int = 0) -> tuple[int, int]:
        """DELETE: (status, cas of the deletion); a lock held without its CAS gives ETMPFAIL."""
        now = self.clock()
        old = self._live(key, now)
        if old is None:
            self.stats["delete_misses"] += 1
            return ENOENT, 0
        if old[LOCK_EXPIRY] > now:
            if cas != old[CAS]:
                return ETMPFAIL, 0
        elif cas and cas != old[CAS]:
            return EEXISTS, 0
        self.stats["delete_hits"] += 1
        self._remove(key, old)
        return SUCCESS, self._next_cas()

    def arithmetic(self, key: bytes, delta: int, initial: int, exptime: int, incr: bool,
                   cas: int = 0) -> tuple[int, Item | None, int]:
        """INCR / DECR: (status, item, new counter); INCR wraps at 2^64, DECR stops at 0."""
        now = self.clock()
        old = self._live(key, now)
        name = "incr" if incr else "decr"
        if old is None:
            self.stats[f"{name}_misses"] += 1
            if exptime == ARITH_NO_CREATE or cas:
                return ENOENT, None, 0
            status, item = self._install(key, None, str(initial).encode(), 0,
                                         absolute_expiry(exptime, now), 0)
            return status, item, initial
        status = self._guard(old, cas, now)
        if status:
            return status, None, 0
        match = _COUNTER.match(old[VALUE])
        if match is None or int(match.group(1)) >= _U64:
            return DELTA_BADVAL, None, 0
        current = int(match.group(1))
        counter = (current + delta) % _U64 if incr else max(current - delta, 0)
        self.stats[f"{name}_hits"] += 1
        status, item = self._install(key, old, str(counter).encode(), old[FLAGS], old[EXPIRY],
                                     0)
        return status, item, counter

    def touch(self, key: bytes, exptime: int) -> tuple[int, Item | None]:
        """TOUCH / GAT: a new expiry for an existing, unlocked item."""
        now = self.clock()
        old = self._live(key, now)
        if old is None:
            self.stats["touch_misses"] += 1
            return ENOENT, None
        if old[LOCK_EXPIRY] > now:
            return EEXISTS, None
        self.stats["touch_hits"] += 1
        return self._install(key, old, old[VALUE], old[FLAGS], absolute_expiry(exptime, now),
                             old[DATATYPE])

    def get_locked(self, key: bytes, lock_seconds: int) -> tuple[int, Item | None]:
        """GET_LOCKED: lock for ``lock_seconds`` (0 or over 30 s means 15 s), new CAS."""
        now = self.clock()
        old = self._live(key, now)
        if old is None:
            return ENOENT, None
        if old[LOCK_EXPIRY] > now:
            return ETMPFAIL, None
        if lock_seconds == 0 or lock_seconds > MAX_LOCK_SECONDS:
            lock_seconds = DEFAULT_LOCK_SECONDS
        value, flags, _, datatype, seqno, expiry, _ = old
        locked = (value, flags, self._next_cas(), datatype, seqno, expiry, now + lock_seconds)
        self.records[key] = locked
        return SUCCESS, Item.from_record(key, locked)

    def unlock(self, key: bytes, cas: int) -> int:
        """UNLOCK_KEY: ETMPFAIL unless the item is locked and ``cas`` is the lock CAS."""
        now = self.clock()
        record = self._live(key, now)
        if record is None:
            return ENOENT
        if record[LOCK_EXPIRY] <= now or cas != record[CAS]:
            return ETMPFAIL
        self.records[key] = record[:LOCK_EXPIRY] + (0.0,)
        return SUCCESS

    def flush(self) -> None:
        """Drop every item and tell the disk queue's owner and the listeners."""
        self.records.clear()
        self._tombstones.clear()
        self.mem_used = 0
        self.seqno += 1
        if self.disk_queue is not None:
            self.disk_queue.owner.on_flush(self)
        for listener in list(self._listeners):
            try:
                listener.on_flush(self)
            except Exception:
                log.exception("flush listener %r failed in bucket %s", listener, self.name)

    def restore(self, docs: Iterable[tuple], max_cas: int = 0, max_seqno: int = 0) -> None:
        """Load persisted (key, value, flags, expiry, cas, datatype, seqno) rows as they are
        (warmup): no new CAS, no listener calls, and CAS/seqno counters moved past them."""
        records = self.records
        for key, value, flags, expiry, cas, datatype, seqno in docs:
            old = records.get(key)
            if old is not None:
                self.mem_used -= ITEM_OVERHEAD + len(key) + len(old[VALUE])
            records[key] = (value, flags, cas, datatype, seqno, expiry, 0.0)
            self.mem_used += ITEM_OVERHEAD + len(key) + len(value)
            max_cas = max(max_cas, cas)
            max_seqno = max(max_seqno, seqno)
        self._cas = max(self._cas, max_cas)
        self.seqno = max(self.seqno, max_seqno)

    def purge_expired(self) -> int:
        """Remove every expired item now (the expiry pager); returns how many."""
        now = self.clock()
        records = self.records
        expired = [(key, record) for key, record in list(records.items())
                   if 0 < record[EXPIRY] <= now]
        for key, record in expired:
            if records.get(key) is record:
                self._remove(key, record)
        self.stats["expired"] += len(expired)
        return len(expired)


#: Slots of :attr:`Bucket.fast_counts`: GET hits (``cmd_get`` and ``get_hits``) and SETs.
FAST_GETS, FAST_SETS = range(2)
FAST_COUNTS = 2

STAT_NAMES = (
    "cmd_get", "get_hits", "get_misses", "cmd_set", "delete_hits", "delete_misses",
    "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses",
    "cas_badval", "touch_hits", "touch_misses", "expired", "total_items",
)
