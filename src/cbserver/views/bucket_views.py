"""The views of one bucket: its design documents, their indexes and the queue of changes.

The bucket calls ``on_mutation``/``on_flush`` synchronously on every change; they only
record the latest record of each key, so writes stay cheap.  ``drain`` applies the queued
changes in batches to every design document's index; a full build happens only when a
design document is new or its views changed.
"""
from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from ..engine.item import EXPIRY, SEQNO, Record
from .ddocs import DesignDocument, DesignDocumentStore
from .execute import ViewResult, run_query
from ..gc_pause import gc_paused
from .indexer import DesignIndex
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT
from .persistence import ViewPersistence
from .query import ViewQuery

log = logging.getLogger(__name__)


class DesignDocumentMissing(Exception):
    """No design document of that name in the bucket (HTTP 404)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BucketViews:
    """Design documents and indexes of one bucket, fed by the bucket's mutation events."""

    def __init__(self, bucket_name: str, num_vbuckets: int = 1024,
                 clock: Callable[[], float] | None = None,
                 time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT,
                 store: ViewPersistence | None = None) -> None:
        self.bucket_name = bucket_name
        self.num_vbuckets = num_vbuckets
        self.ddocs = DesignDocumentStore()
        self.indexes: dict[str, DesignIndex] = {}
        self.on_pending: Callable[[int], None] | None = None
        self._clock = clock
        self._time_limit = time_limit
        self._memory_limit = memory_limit
        self._lock = threading.Lock()
        self._pending: dict[bytes, Record | None] = {}
        self._flushed = False
        self._expiring: list[tuple[int, bytes]] = []
        self._expiry_of: dict[bytes, int] = {}
        self._store = store
        self._queued_seqno = 0
        #: Bucket seqno up to which every index reflects the bucket (snapshots record it).
        self.indexed_seqno = 0
        self.dirty = False

    # -- bucket events (called on the bucket's thread) -------------------------------

    def on_mutation(self, bucket: Any, key: bytes, record: Record | None) -> None:
        """Queue the new record of ``key`` (None: deleted) for the next drain."""
        expiry = record[EXPIRY] if record is not None else 0
        with self._lock:
            self._pending[key] = record
            self._queued_seqno = bucket.seqno
            count = len(self._pending)
            if expiry:
                self._expiry_of[key] = expiry
                heapq.heappush(self._expiring, (expiry, key))
            else:
                self._expiry_of.pop(key, None)
        if self.on_pending is not None:
            self.on_pending(count)

    def on_flush(self, bucket: Any) -> None:
        """Forget queued changes; the next drain empties every index."""
        with self._lock:
            self._pending.clear()
            self._queued_seqno = bucket.seqno
            self._flushed = True
            self._expiring.clear()
            self._expiry_of.clear()

    def queue_expired(self, now: float) -> int:
        """Queue deletions for indexed items whose expiry time has passed; return how many."""
        due = 0
        with self._lock:
            while self._expiring and self._expiring[0][0] <= now:
                expiry, key = heapq.heappop(self._expiring)
                if self._expiry_of.get(key) == expiry:
                    del self._expiry_of[key]
                    self._pending[key] = None
                    due += 1
        return due

    def _now(self) -> float:
        """Return the current time of the bucket's clock."""
        return self._clock() if self._clock is not None else time.time()

    @property
    def persistent(self) -> bool:
        """Tell whether design documents and indexes are saved with the bucket."""
        return self._store is not None

    @property
    def pending(self) -> int:
        """Return the number of keys waiting to be indexed."""
        return len(self._pending)

    # -- index work (called on the views worker thread) ------------------------------

    def drain(self) -> int:
        """Apply every queued change to every index; return the number of changes applied."""
        now = self._now()
        self.queue_expired(now)
        with self._lock:
            pending, self._pending = self._pending, {}
            flushed, self._flushed = self._flushed, False
            upto = self._queued_seqno
        changes = list(pending.items())
        if flushed:
            for design in self.indexes.values():
                design.build((), now)
        if changes:
            with gc_paused():
                for design in self.indexes.values():
                    design.apply(changes, now)
        if (changes or flushed) and self.indexes:
            self.dirty = True
        self.indexed_seqno = max(self.indexed_seqno, upto)
        return len(changes)

    def put_design(self, name: str, raw: bytes,
                   records: Sequence[tuple[bytes, Record]]) -> DesignDocument:
        """Store a design document; build its index only if its views are new or changed.

        The caller then runs :meth:`catch_up` with the bucket's records, as changes drained
        while ``records`` waited for the build would otherwise be missing from the new index.
        """
        ddoc = self.ddocs.put(name, raw)
        if self._store is not None:
            self._store.save_design(ddoc)
        current = self.indexes.get(name)
        if current is not None and current.signature == ddoc.signature:
            current.ddoc = ddoc
            return ddoc
        with gc_paused(promote=True):
            design = DesignIndex(ddoc, self._time_limit, self._memory_limit)
            design.build(records, self._now())
        self.indexes[name] = design
        self.dirty = True
        return ddoc

    def catch_up(self, name: str, records: Iterable[tuple[bytes, Record]], seqno: int) -> int:
        """Apply to the index of ``name`` what changed in ``records`` after ``seqno``."""
        design = self.indexes.get(name)
        if design is None:
            return 0
        return design.catch_up(records, seqno, self._now())

    def delete_design(self, name: str) -> DesignDocument | None:
        """Remove a design document and its index; return it, or None if absent."""
        self.indexes.pop(name, None)
        ddoc = self.ddocs.delete(name)
        if ddoc is not None and self._store is not None:
            self._store.delete_design(name)
        return ddoc

    def design(self, name: str) -> DesignIndex:
        """Return the index of a design document or raise DesignDocumentMissing."""
        design = self.indexes.get(name)
        if design is None:
            raise DesignDocumentMissing(
                f"Design document `_design/{name}` missing in database `{self.bucket_name}`.")
        return design

    def query(self, ddoc: str, view: str, query: ViewQuery, item_count: int) -> ViewResult:
        """Start a query on ``ddoc``/``view``; rows are produced lazily."""
        return run_query(self.design(ddoc), view, query, num_vbuckets=self.num_vbuckets,
                         item_count=item_count)

    def snapshot(self) -> dict[str, Any]:
        """Return the plain, serialisable state: design documents and every index."""
        return {"ddocs": self.ddocs.snapshot(), "seqno": self.indexed_seqno,
                "indexes": {name: design.snapshot() for name, design in self.indexes.items()}}

    def restore(self, state: dict[str, Any], records: Iterable[tuple[bytes, Record]]) -> None:
        """Load a snapshot and bring it current with ``records``.

        An index saved for the same views is kept and only documents changed after its
        seqno are mapped again; an index that is missing or does not fit is rebuilt.
        """
        self.ddocs.restore(state["ddocs"])
        records = list(records)
        now = self._now()
        self.indexes = {}
        for ddoc in self.ddocs:
            saved = state["indexes"].get(ddoc.name)
            with gc_paused(promote=True):
                design = DesignIndex(ddoc, self._time_limit, self._memory_limit)
                if saved is not None and design.restore(saved):
                    design.catch_up(records, saved.get("seqno", state.get("seqno", 0)), now)
                else:
                    design.build(records, now)
                    self.dirty = True
            self.indexes[ddoc.name] = design
        self.indexed_seqno = max((record[SEQNO] for _, record in records), default=0)

    def load(self, records: Iterable[tuple[bytes, Record]], seqno: int) -> None:
        """Restore design documents and indexes from the bucket's store (after warmup).

        ``records`` and ``seqno`` must be taken together, with this object already
        subscribed to the bucket, so every later change is queued for the next drain.
        """
        if self._store is None:
            return
        self.restore({"ddocs": self._store.load_design_documents(),
                      "indexes": self._store.load_indexes()}, records)
        self.indexed_seqno = max(self.indexed_seqno, seqno)
        with self._lock:
            self._queued_seqno = max(self._queued_seqno, seqno)

    def save(self) -> int:
        """Write every index snapshot if anything changed since the last save; return bytes."""
        if self._store is None or not self.dirty:
            return 0
        self.dirty = False
        written = 0
        for name, design in self.indexes.items():
            written += self._store.save_index(name, design.snapshot(), self.indexed_seqno)
        log.info("bucket %s: saved %d index snapshot(s) up to seqno %d (%d bytes)",
                 self.bucket_name, len(self.indexes), self.indexed_seqno, written)
        return written
