"""Write-behind flusher: a dedicated thread that group-commits coalesced mutations to SQLite.

The event loop only records the newest item of each key in ``pending`` (one dict store
under a short lock) together with the bucket seqno of that mutation. The thread swaps
``pending`` out, commits it in one transaction (WAL fsynced, see :mod:`.store`) and then
reports the highest seqno it made durable through ``on_persisted``; the engine turns that
into OBSERVE "persisted". A failed commit keeps the batch (newer writes win), reports the
error for the log and REST, and is retried: nothing unpersisted is ever reported persisted.
"""
from __future__ import annotations

import concurrent.futures
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from .health import StorageHealth
from .store import I64_MAX, BucketStore, MetaOp, to_sql_u64

log = logging.getLogger("cbserver.storage")

ENTRY_OVERHEAD = 64  # bytes of bookkeeping counted per queued mutation
RETRY_MIN_S = 0.05
RETRY_MAX_S = 2.0


class Flusher:
    """Persists one bucket behind its back; the bucket calls :meth:`on_mutation` and friends."""

    def __init__(self, store: BucketStore, health: StorageHealth, *, name: str,
                 max_backlog_bytes: int = 64 << 20, pager_interval: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.name = name
        self.max_backlog_bytes = max_backlog_bytes
        self.on_persisted: Callable[[int], None] | None = None
        self.on_congested: Callable[[Any], None] | None = None
        self._health = health
        self._pager_interval = pager_interval
        self._clock = clock
        self._lock = threading.Lock()  # taken directly on the hot path, cheaper than _cond
        self._cond = threading.Condition(self._lock)
        self._pending: dict[bytes, Any] = {}
        self._pending_bytes = 0
        self._pending_seqno = 0
        self._pending_since = 0.0
        self._inflight_items = 0
        self._inflight_bytes = 0
        self._truncate = False
        self._generation = 0
        self._meta: list[MetaOp] = []
        self._waiters: list[concurrent.futures.Future] = []
        self._max_cas = store.counter("max_cas")
        self._max_seqno = store.counter("max_seqno")
        self._stopping = False
        self._failed = False
        self._next_pager = self._clock() + pager_interval
        self._thread = threading.Thread(target=self._run, name=f"flusher-{name}", daemon=True)
        self.persisted_seqno = self._max_seqno
        self.committed_batches = 0
        self.persisted_items = 0
        self.purged_items = 0
        self.last_lag_s = 0.0
        self.max_lag_s = 0.0

    def start(self) -> None:
        """Start the flusher thread."""
        self._thread.start()

    @property
    def started(self) -> bool:
        """Return True once :meth:`start` was called."""
        return self._thread.ident is not None

    def on_mutation(self, bucket: Any, key: bytes, item: Any) -> None:
        """Queue the newest state of ``key`` (``item`` None = deleted or expired).

        Engine items are immutable once handed to listeners, so the item itself is queued
        and turned into a row on the flusher thread, keeping the event loop's share small.
        """
        if item is None:
            seqno = bucket.seqno
            size = len(key) + ENTRY_OVERHEAD
        else:
            seqno = item.seqno
            size = len(key) + len(item.value) + ENTRY_OVERHEAD
        with self._lock:
            pending = self._pending
            if not pending:
                self._pending_since = time.monotonic()
                self._cond.notify()
            pending[key] = item
            self._pending_bytes += size
            if seqno > self._pending_seqno:
                self._pending_seqno = seqno
            congested = self._pending_bytes + self._inflight_bytes > self.max_backlog_bytes
        if congested and self.on_congested is not None:
            self.on_congested(bucket)

    def on_flush(self, bucket: Any) -> None:
        """Forget queued writes and empty the table in the next commit (bucket flush)."""
        with self._cond:
            self._pending = {}
            self._pending_bytes = 0
            self._pending_seqno = max(self._pending_seqno, bucket.seqno)
            self._truncate = True
            self._generation += 1
            self._pending_since = time.monotonic()
            self._cond.notify()

    @property
    def backlog_bytes(self) -> int:
        """Return the approximate bytes waiting to be persisted (queued plus in flight)."""
        return self._pending_bytes + self._inflight_bytes

    @property
    def backlog_items(self) -> int:
        """Return the number of keys waiting to be persisted (queued plus in flight)."""
        return len(self._pending) + self._inflight_items

    @property
    def congested(self) -> bool:
        """Return True when writers should get TMPFAIL until the flusher catches up."""
        return self.backlog_bytes > self.max_backlog_bytes

    @property
    def failing(self) -> bool:
        """Return True while the last commit attempt failed."""
        return self._failed

    def put_meta(self, namespace: str, key: str, value: bytes | None) -> concurrent.futures.Future:
        """Queue a metadata write (None deletes); the future resolves once it is durable."""
        with self._cond:
            self._meta.append(MetaOp(namespace, key, value))
        return self.checkpoint()

    def checkpoint(self) -> concurrent.futures.Future:
        """Return a future resolved once everything queued so far is durably committed."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            if self._stopping:
                future.set_exception(RuntimeError(f"flusher of bucket {self.name!r} is stopped"))
                return future
            self._waiters.append(future)
            self._cond.notify()
        return future

    def purge_expired(self) -> concurrent.futures.Future:
        """Run the on-disk expiry pager now; the future resolves once it is committed."""
        with self._cond:
            self._next_pager = 0.0
        return self.checkpoint()

    def stop(self, timeout: float | None = None) -> bool:
        """Persist everything queued, stop the thread and return True if it drained in time."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stats(self) -> dict[str, int | float | str]:
        """Return flusher figures for STAT and REST (ep_* names as Couchbase 2.x used)."""
        return {
            "ep_queue_size": len(self._pending),
            "ep_flusher_todo": self._inflight_items,
            "ep_diskqueue_items": self.backlog_items,
            "ep_diskqueue_memory": self.backlog_bytes,
            "ep_total_persisted": self.persisted_items,
            "ep_commit_num": self.committed_batches,
            "ep_expired_pager": self.purged_items,
            "ep_flusher_state": "failing" if self._failed else "running",
            "ep_last_persisted_seqno": self.persisted_seqno,
            "ep_last_flush_lag_ms": round(self.last_lag_s * 1000, 3),
            "ep_max_flush_lag_ms": round(self.max_lag_s * 1000, 3),
        }

    def _has_work(self) -> bool:
        return bool(self._pending or self._truncate or self._meta or self._waiters
                    or self._clock() >= self._next_pager)

    def _run(self) -> None:
        retry_delay = RETRY_MIN_S
        try:
            while True:
                with self._cond:
                    while not self._has_work() and not self._stopping:
                        self._cond.wait(max(0.0, self._next_pager - self._clock()))
                    if not self._has_work():
                        break
                    batch = self._take_batch()
                try:
                    purged = self._commit(batch)
                except sqlite3.Error as exc:
                    self._requeue(batch)
                    self._report_failure(batch, exc)
                    if self._stopping and retry_delay >= RETRY_MAX_S:
                        self._abandon(exc)
                        break
                    time.sleep(retry_delay)
                    retry_delay = min(retry_delay * 2, RETRY_MAX_S)
                    continue
                retry_delay = RETRY_MIN_S
                self._completed(batch, purged)
        finally:
            self.store.close()

    def _take_batch(self) -> dict[str, Any]:
        """Swap out everything queued (called with the lock held)."""
        now = self._clock()
        purge_before = None
        if now >= self._next_pager:
            purge_before = int(now)
            self._next_pager = now + self._pager_interval
        batch = {"docs": self._pending, "bytes": self._pending_bytes, "truncate": self._truncate,
                 "meta": self._meta, "waiters": self._waiters, "generation": self._generation,
                 "seqno": self._pending_seqno, "since": self._pending_since,
                 "purge_before": purge_before}
        self._pending, self._pending_bytes, self._truncate = {}, 0, False
        self._meta, self._waiters = [], []
        self._inflight_items, self._inflight_bytes = len(batch["docs"]), batch["bytes"]
        return batch

    def _commit(self, batch: dict[str, Any]) -> int:
        upserts = []
        deletes = []
        max_cas = self._max_cas
        for key, item in batch["docs"].items():
            if item is None:
                deletes.append((key,))
                continue
            cas = item.cas
            if cas > max_cas:
                max_cas = cas
            upserts.append((key, item.value, item.flags, item.expiry,
                            cas if cas <= I64_MAX else to_sql_u64(cas), item.datatype,
                            item.seqno))
        self._max_cas = max_cas
        counters = {}
        if batch["seqno"] > self.persisted_seqno:
            counters = {"max_cas": max_cas, "max_seqno": batch["seqno"]}
        return self.store.commit(truncate=batch["truncate"], upserts=upserts, deletes=deletes,
                                 meta=batch["meta"], counters=counters,
                                 purge_before=batch["purge_before"])

    def _completed(self, batch: dict[str, Any], purged: int) -> None:
        if self._failed:
            self._failed = False
            self._health.resolve(str(self.store.path))
        with self._cond:
            self._inflight_items = self._inflight_bytes = 0
        if batch["docs"] or batch["truncate"]:
            lag = time.monotonic() - batch["since"]
            self.last_lag_s = lag
            self.max_lag_s = max(self.max_lag_s, lag)
        self.committed_batches += 1
        self.persisted_items += len(batch["docs"])
        self.purged_items += purged
        if batch["seqno"] > self.persisted_seqno:
            self.persisted_seqno = batch["seqno"]
            if self.on_persisted is not None:
                self.on_persisted(batch["seqno"])
        for waiter in batch["waiters"]:
            waiter.set_result(None)

    def _requeue(self, batch: dict[str, Any]) -> None:
        """Put a failed batch back under newer writes, unless a bucket flush superseded it."""
        with self._cond:
            if batch["generation"] == self._generation:
                docs = batch["docs"]
                docs.update(self._pending)
                self._pending = docs
                self._pending_bytes += batch["bytes"]
                self._truncate = self._truncate or batch["truncate"]
                self._pending_since = min(batch["since"], self._pending_since or batch["since"])
            self._inflight_items = self._inflight_bytes = 0
            self._meta = batch["meta"] + self._meta
            self._waiters = batch["waiters"] + self._waiters
            if batch["purge_before"] is not None:
                self._next_pager = 0.0

    def _report_failure(self, batch: dict[str, Any], exc: sqlite3.Error) -> None:
        self._failed = True
        self._health.error(str(self.store.path), f"could not persist {len(batch['docs'])} "
                           f"mutation(s) of bucket {self.name!r}: {exc}; they stay in memory, "
                           "not reported persisted, and the write is retried")

    def _abandon(self, exc: sqlite3.Error) -> None:
        """Give up at shutdown after retries failed: the loss is logged and waiters told."""
        with self._cond:
            lost = len(self._pending)
            waiters, self._waiters = self._waiters, []
        log.error("bucket %r: shutting down with %d unpersisted mutation(s) after repeated "
                  "failures: %s", self.name, lost, exc)
        for waiter in waiters:
            waiter.set_exception(exc)
