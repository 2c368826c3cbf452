"""The views of one bucket: its design documents, their indexes and the queue of changes.

The bucket calls ``on_mutation``/``on_flush`` synchronously on every change; they only
record the latest state of each key, so writes stay cheap.  ``drain`` applies the queued
changes in batches to every design document's index; a full build happens only when a
design document is new or its views changed.
"""
from __future__ import annotations

import heapq
import threading
import time
from typing import Any, Callable, Iterable

from .ddocs import DesignDocument, DesignDocumentStore
from .execute import ViewResult, run_query
from .indexer import DesignIndex
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT
from .meta import ItemLike
from .query import ViewQuery


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
                 memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        self.bucket_name = bucket_name
        self.num_vbuckets = num_vbuckets
        self.ddocs = DesignDocumentStore()
        self.indexes: dict[str, DesignIndex] = {}
        self.on_pending: Callable[[int], None] | None = None
        self._clock = clock
        self._time_limit = time_limit
        self._memory_limit = memory_limit
        self._lock = threading.Lock()
        self._pending: dict[bytes, ItemLike | None] = {}
        self._flushed = False
        self._expiring: list[tuple[int, bytes]] = []
        self._expiry_of: dict[bytes, int] = {}

    # -- bucket events (called on the bucket's thread) -------------------------------

    def on_mutation(self, bucket: Any, key: bytes, item: ItemLike | None) -> None:
        """Queue the new state of ``key`` for the next drain."""
        expiry = item.expiry if item is not None else 0
        with self._lock:
            self._pending[key] = item
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
    def pending(self) -> int:
        """Return the number of keys waiting to be indexed."""
        return len(self._pending)

    # -- index work (called on the views worker thread) ------------------------------

    def drain(self) -> int:
        """Apply every queued change to every index; return the number of changes applied."""
        now = self._now()
        self.queue_expired(now)
        with self._lock:
            changes, self._pending = list(self._pending.items()), {}
            flushed, self._flushed = self._flushed, False
        if flushed:
            for design in self.indexes.values():
                design.build((), now)
        if changes:
            for design in self.indexes.values():
                design.apply(changes, now)
        return len(changes)

    def put_design(self, name: str, raw: bytes, items: Iterable[tuple[bytes, ItemLike]]) -> DesignDocument:
        """Store a design document; build its index only if its views are new or changed."""
        ddoc = self.ddocs.put(name, raw)
        current = self.indexes.get(name)
        if current is not None and current.signature == ddoc.signature:
            current.ddoc = ddoc
            return ddoc
        design = DesignIndex(ddoc, self._time_limit, self._memory_limit)
        design.build(items, self._now())
        self.indexes[name] = design
        return ddoc

    def delete_design(self, name: str) -> DesignDocument | None:
        """Remove a design document and its index; return it, or None if absent."""
        self.indexes.pop(name, None)
        return self.ddocs.delete(name)

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
        return {"ddocs": self.ddocs.snapshot(),
                "indexes": {name: design.snapshot() for name, design in self.indexes.items()}}

    def restore(self, state: dict[str, Any], items: Iterable[tuple[bytes, ItemLike]]) -> None:
        """Load a snapshot; design documents whose saved index does not fit are rebuilt."""
        self.ddocs.restore(state["ddocs"])
        snapshot = list(items)
        self.indexes = {}
        for ddoc in self.ddocs:
            design = DesignIndex(ddoc, self._time_limit, self._memory_limit)
            if not design.restore(state["indexes"].get(ddoc.name, {"views": {}})):
                design.build(snapshot, self._now())
            self.indexes[ddoc.name] = design
