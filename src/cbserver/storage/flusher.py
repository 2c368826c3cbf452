"""Write-behind flusher: makes a bucket's mutations durable in batches, on its own thread.

The event loop's share per mutation is the engine's ``push`` to the bucket's
:class:`~.disk_queue.DiskQueue`, which encodes the mutation for the log right away (in
C: a few tens of nanoseconds, the record still in the core's cache). The thread takes
the whole encoded batch with the queue's ``take`` (flushes and batches put back after a
failure are handled under the lock the taking holds), appends it to the bucket's commit
log and fdatasyncs it (:mod:`.log_keeper`), never touching a Python object of the
batch; the writer process (:mod:`.writer`) later folds the sealed segments into SQLite
(the newest state of each key wins), on a core of its own.
Once the append is durable, the thread reports the highest seqno made durable through
``on_persisted``; the engine turns that into OBSERVE "persisted". A failed append or
commit, or a dead writer, puts the batch back in front of newer writes, reports the
error for the log and REST, and is retried (with a new writer if needed): nothing
unpersisted is ever reported persisted.
"""
from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .batch_codec import merge_batches
from .commit_log import COMPACT_IDLE_S, LOG_LIMIT_BYTES
from .disk_queue import DiskQueue
from .flush_marker import write_flush_marker
from .health import StorageHealth
from .log_keeper import LogKeeper
from .store import MetaOp
from .writer_process import CommitFailed, WriterFailed, WriterProcess
from .writer_wire import encode

log = logging.getLogger("cbserver.storage")

RETRY_MIN_S = 0.05
RETRY_MAX_S = 2.0
#: Group commit: a plain batch of writes is taken at most this often (seconds), so that
#: under load each fdatasync and each hand-over between the threads serves more writes;
#: anything else (a flush, metadata, a waiter, a backlog over its limit) goes at once.
GROUP_COMMIT_S = 0.005


class Flusher:
    """Persists one bucket behind its back: the bucket fills :attr:`queue` (attach it with
    ``bucket.attach_disk_queue(flusher.queue)``) and pokes the flusher through it."""

    def __init__(self, path: Path, health: StorageHealth, *, name: str,
                 persisted_seqno: int = 0, lock_fd: int | None = None,
                 max_backlog_bytes: int = 64 << 20, pager_interval: float = 60.0,
                 compact_idle_s: float = COMPACT_IDLE_S, log_limit_bytes: int = LOG_LIMIT_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.name = name
        self.writer = WriterProcess(path, lock_fd)
        self._log = LogKeeper(path.parent, self.writer, health, compact_idle_s=compact_idle_s,
                              log_limit_bytes=log_limit_bytes)
        self.max_backlog_bytes = max_backlog_bytes
        self.on_persisted: Callable[[int], None] | None = None
        self.on_congested: Callable[[Any], None] | None = None
        self._health = health
        self._pager_interval = pager_interval
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        #: Filled by the engine; its mark is the retired bytes plus the backlog limit.
        self.queue = DiskQueue(self, max_backlog_bytes)
        self._retired_bytes = 0  # cumulative, written under the lock only
        self._taken_at = 0.0  # time.monotonic() of the last batch taken
        self._flush_seqno = 0
        self._pending_since = 0.0
        self._inflight_items = 0
        #: A batch whose append or commit failed, ``(payload, count)``: it goes before
        #: anything queued since (lock held).
        self._held: tuple[bytes, int] | None = None
        self._truncate = False
        self._generation = 0
        self._meta: list[MetaOp] = []
        self._waiters: list[concurrent.futures.Future] = []
        #: Futures of :meth:`purge_expired` calls the pager has not taken yet.
        self._purge_waiters: list[concurrent.futures.Future] = []
        self._stopping = False
        self._failed = False
        self._next_pager = self._clock() + pager_interval
        self._thread = threading.Thread(target=self._run, name=f"flusher-{name}", daemon=True)
        self.persisted_seqno = persisted_seqno
        self.committed_batches = 0
        self.persisted_items = 0
        self.last_lag_s = 0.0
        self.max_lag_s = 0.0

    def start(self) -> None:
        """Start the flusher thread."""
        self._thread.start()

    @property
    def started(self) -> bool:
        """Return True once :meth:`start` was called."""
        return self._thread.ident is not None

    def queue_poked(self, bucket: Any) -> None:
        """Called by the engine when :attr:`queue` turned non-empty (start the lag clock
        and wake the thread) or when its bytes passed the backlog limit (congestion)."""
        if self.queue.count == 1:
            self._pending_since = time.monotonic()
            self._wake()
        if self.queue.queued_bytes > self.queue.mark and self.on_congested is not None:
            self.on_congested(bucket)

    def on_flush(self, bucket: Any) -> None:
        """Record the flush durably, forget queued writes and empty the table in the next
        commit (bucket flush); see :mod:`.flush_marker` for why the flush is durable at once."""
        try:
            write_flush_marker(self.path.parent, bucket.seqno)
        except OSError as exc:
            self._health.error(str(self.path.parent), f"could not record the flush of bucket "
                               f"{self.name!r} durably: {exc}; the flusher empties the "
                               "database in its next commit")
        with self._cond:
            self._retire(self.queue.queued_bytes)
            self.queue.take(0)
            self._held = None
            self._flush_seqno = max(self._flush_seqno, bucket.seqno)
            self._truncate = True
            self._generation += 1
            self._pending_since = time.monotonic()
            self._cond.notify()

    @property
    def backlog_bytes(self) -> int:
        """Return the approximate bytes waiting to be persisted (queued plus in flight)."""
        return self.queue.queued_bytes - self._retired_bytes

    @property
    def backlog_items(self) -> int:
        """Return the number of mutations waiting to be persisted (queued plus in flight)."""
        return self.queue.count + self._held_items() + self._inflight_items

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
        """Run the on-disk expiry pager now; the future resolves to the number of rows it
        deleted once that is committed (after every write queued before is folded)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            if self._stopping:
                future.set_exception(RuntimeError(f"flusher of bucket {self.name!r} is stopped"))
                return future
            self._purge_waiters.append(future)
            self._next_pager = 0.0
            self._cond.notify()
        return future

    @property
    def purged_items(self) -> int:
        """Return the rows the expiry pager deleted on disk since the server started."""
        return self._log.purged_items

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
            "ep_queue_size": self.queue.count + self._held_items(),
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

    def _held_items(self) -> int:
        held = self._held
        return 0 if held is None else held[1]

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def _urgent(self) -> bool:
        """Return True if something other than plain writes waits: a flush, metadata or a
        checkpoint (it goes at once, without group commit)."""
        return bool(self._truncate or self._meta or self._waiters)

    def _has_batch(self) -> bool:
        return bool(self.queue.count) or self._held is not None or self._urgent()

    def _has_work(self) -> bool:
        return self._has_batch() or self._log.due() or self._clock() >= self._next_pager

    def _wait_timeout(self) -> float:
        pager = max(0.0, self._next_pager - self._clock())
        log_timeout = self._log.wait_timeout()
        return pager if log_timeout is None else min(pager, log_timeout)

    def _run(self) -> None:
        retry_delay = RETRY_MIN_S
        try:
            while True:
                if not self.writer.running:
                    try:
                        self.writer.start()
                    except WriterFailed as exc:
                        self._report_failure(0, exc)
                        retry_delay = self._back_off(exc, retry_delay)
                        if retry_delay is None:
                            break
                        continue
                with self._cond:
                    while not self._has_work() and not self._stopping:
                        self._cond.wait(self._wait_timeout())
                    if not self._has_work():
                        break
                    self._wait_for_group()
                    batch = self._take_batch() if self._has_batch() else None
                    purge = self._take_purge()
                if purge is not None:
                    self._log.request_purge(*purge)
                if batch is not None:
                    try:
                        written = self._persist(batch)
                    except (CommitFailed, WriterFailed, OSError) as exc:
                        self._requeue(batch)
                        self._report_failure(batch["count"], exc)
                        retry_delay = self._back_off(exc, retry_delay)
                        if retry_delay is None:
                            break
                        continue
                    retry_delay = RETRY_MIN_S
                    self._completed(batch, written)
                self._log.tend()
        finally:
            with self._cond:
                purge = self._take_purge(force=True)
            if purge is not None:
                self._log.request_purge(*purge)
            self._log.fold_all()
            self.writer.stop()

    def _take_purge(self, force: bool = False) -> tuple[int, list] | None:
        """Return (expired before, waiters) when the expiry pager is due (or ``force``
        and someone waits for it), and schedule the next run (called with the lock held)."""
        now = self._clock()
        if now < self._next_pager and not (force and self._purge_waiters):
            return None
        self._next_pager = now + self._pager_interval
        waiters, self._purge_waiters = self._purge_waiters, []
        return int(now), waiters

    def _wait_for_group(self) -> None:
        """Let a batch of plain writes grow until :data:`GROUP_COMMIT_S` after the last
        batch was taken (called with the lock held; waking early re-checks)."""
        while not (self._stopping or self._urgent()
                   or self.backlog_bytes > self.max_backlog_bytes):
            delay = self._taken_at + GROUP_COMMIT_S - time.monotonic()
            if delay <= 0:
                break
            self._cond.wait(delay)
        self._taken_at = time.monotonic()

    def _take_batch(self) -> dict[str, Any]:
        """Take everything queued, behind a batch put back after a failure (called with
        the lock held)."""
        bytes_mark = self.queue.queued_bytes  # before the take: every byte counted is taken
        payload, count, seqno = self.queue.take(self._flush_seqno)
        if self._held is not None:
            payload, count, seqno = merge_batches([self._held[0], payload])
            self._held = None
        batch = {"payload": payload, "count": count, "bytes_mark": bytes_mark,
                 "truncate": self._truncate, "meta": self._meta, "waiters": self._waiters,
                 "generation": self._generation, "seqno": seqno,
                 "since": self._pending_since}
        self._truncate = False
        self._meta, self._waiters = [], []
        self._inflight_items = count
        return batch

    def _persist(self, batch: dict[str, Any]) -> int:
        """Make a batch durable; return the rows a commit wrote (0 for an append).

        A plain batch of writes and deletes is appended to the commit log here, as the
        queue encoded it; an empty one (a checkpoint) needs nothing, every earlier batch
        being durable already. A flush or metadata is a commit in the writer, after it
        folded every segment of the log; its writes travel in the same encoding, so the
        writer builds every row one way."""
        if _is_append(batch):
            if batch["count"]:
                self._log.append(batch["payload"])
            return 0
        names = self._log.handover()
        written = self.writer.commit(encode((
            "commit", batch["truncate"], batch["seqno"], batch["payload"],
            [tuple(op) for op in batch["meta"]], names)))
        self._log.handed_over()
        return written

    def _retire(self, mark: int) -> None:
        """Count the bytes queued up to ``mark`` as out of the backlog (lock held)."""
        if mark > self._retired_bytes:
            self._retired_bytes = mark
            self.queue.mark = mark + self.max_backlog_bytes

    def _completed(self, batch: dict[str, Any], written: int) -> None:
        if self._failed:
            self._failed = False
            self._health.resolve(str(self.path))
        with self._cond:
            self._inflight_items = 0
            self._retire(batch["bytes_mark"])
        if batch["count"] or batch["truncate"]:
            lag = time.monotonic() - batch["since"]
            self.last_lag_s = lag
            self.max_lag_s = max(self.max_lag_s, lag)
        self.committed_batches += 1
        self.persisted_items += batch["count"] if _is_append(batch) else written
        if batch["seqno"] > self.persisted_seqno:
            self.persisted_seqno = batch["seqno"]
            if self.on_persisted is not None:
                self.on_persisted(batch["seqno"])
        for waiter in batch["waiters"]:
            waiter.set_result(None)

    def _requeue(self, batch: dict[str, Any]) -> None:
        """Put a failed batch back in front of newer writes, unless a bucket flush
        superseded it (then its entries are dropped, as the flush dropped the queue)."""
        with self._cond:
            if batch["generation"] == self._generation:
                if batch["count"]:
                    self._held = (batch["payload"], batch["count"])
                self._truncate = self._truncate or batch["truncate"]
                self._pending_since = min(batch["since"], self._pending_since or batch["since"])
            self._inflight_items = 0
            self._meta = batch["meta"] + self._meta
            self._waiters = batch["waiters"] + self._waiters

    def _back_off(self, exc: Exception, delay: float) -> float | None:
        """After a failed start or commit: None when stopping with retries exhausted (the
        queue is abandoned), else sleep ``delay`` and return the next, doubled delay."""
        if self._stopping and delay >= RETRY_MAX_S:
            self._abandon(exc)
            return None
        time.sleep(delay)
        return min(delay * 2, RETRY_MAX_S)

    def _report_failure(self, count: int, exc: Exception) -> None:
        self._failed = True
        self._health.error(str(self.path), f"could not persist {count} mutation(s) of bucket "
                           f"{self.name!r}: {exc}; they stay in memory, not reported "
                           "persisted, and the write is retried")

    def _abandon(self, exc: Exception) -> None:
        """Give up at shutdown after retries failed: the loss is logged and waiters told."""
        with self._cond:
            lost = self.queue.count + self._held_items()
            waiters, self._waiters = self._waiters, []
        log.error("bucket %r: shutting down with %d unpersisted mutation(s) after repeated "
                  "failures: %s", self.name, lost, exc)
        for waiter in waiters:
            waiter.set_exception(exc)


def _is_append(batch: dict[str, Any]) -> bool:
    """Return True if ``batch`` is only writes and deletes (it goes to the commit log)."""
    return not (batch["truncate"] or batch["meta"])
