"""Everything persistent about one bucket: its database, its flusher and its metadata table."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .flush_marker import read_flush_marker
from .flusher import Flusher
from .health import StorageHealth
from .store import COUNTERS, BucketStore, StoredDoc


class BucketPersistence:
    """Facade the server uses per bucket: warmup source, write-behind flusher, metadata.

    Metadata hook: a small key/value table (namespace, key) -> bytes, stored in the bucket's
    own database and committed through the flusher, so it is as durable as the documents and
    disappears with the bucket. The view engine can keep design documents under namespace
    ``design`` (key = ``_design/<name>``, value = the JSON bytes) and index state under
    ``views``: read with :meth:`meta_get`/:meth:`meta_items` (served from memory), write with
    :meth:`meta_put`/:meth:`meta_delete` (futures resolved once durable). The namespace
    ``bucket`` is reserved for the CAS and seqno counters.
    """

    def __init__(self, name: str, store: BucketStore, health: StorageHealth, *,
                 lock_fd: int | None = None, **flusher_options) -> None:
        self.name = name
        self.store = store
        self._meta_lock = threading.Lock()
        self._meta = {entry: value for entry, value in store.meta_items().items()
                      if entry[0] != COUNTERS}
        self.flushed_seqno = read_flush_marker(store.path.parent)
        self.max_cas = store.counter("max_cas")
        self.max_seqno = max(store.counter("max_seqno"), self.flushed_seqno)
        self.flusher = Flusher(store.path, health, name=name, persisted_seqno=self.max_seqno,
                               lock_fd=lock_fd, **flusher_options)
        self._store_open = True
        self._closed = False

    def load(self, now: int) -> Iterator[list[StoredDoc]]:
        """Yield the live documents in chunks (warmup); call before :meth:`start`."""
        return self.store.load(now, after_seqno=self.flushed_seqno)

    def start(self, bucket: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the flusher's queue to ``bucket`` (after warmup) and start it.

        Durable progress reaches the engine on ``loop``, the thread that owns the bucket, as
        ``bucket.mark_persisted(seqno)``, which OBSERVE "persisted" rests on. While the disk
        backlog is over its limit ``bucket.throttled`` is True (writes get ETMPFAIL); it is
        cleared once the backlog is down to half the limit.
        """
        flusher = self.flusher

        def progress(seqno: int) -> None:
            bucket.mark_persisted(seqno)
            if bucket.throttled and flusher.backlog_bytes <= flusher.max_backlog_bytes // 2:
                bucket.throttled = False

        def persisted(seqno: int) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed: nobody left to observe
                loop.call_soon_threadsafe(progress, seqno)

        bucket.mark_persisted(flusher.persisted_seqno)
        flusher.on_persisted = persisted
        flusher.on_congested = _throttle
        self._close_store()
        bucket.attach_disk_queue(flusher.queue)
        flusher.start()

    def detach(self, bucket: Any) -> None:
        """Stop queueing ``bucket``'s mutations (before it is deleted or at shutdown)."""
        bucket.detach_disk_queue()

    def checkpoint(self) -> concurrent.futures.Future:
        """Return a future resolved once every mutation seen so far is durable."""
        return self.flusher.checkpoint()

    def meta_get(self, namespace: str, key: str) -> bytes | None:
        """Return one metadata value, or None."""
        with self._meta_lock:
            return self._meta.get((namespace, key))

    def meta_items(self, namespace: str) -> dict[str, bytes]:
        """Return every metadata entry of ``namespace`` as {key: value}."""
        with self._meta_lock:
            return {key: value for (ns, key), value in self._meta.items() if ns == namespace}

    def meta_put(self, namespace: str, key: str, value: bytes) -> concurrent.futures.Future:
        """Store a metadata value; the future resolves once it is durable."""
        self._check_namespace(namespace)
        with self._meta_lock:
            self._meta[(namespace, key)] = bytes(value)
        return self.flusher.put_meta(namespace, key, bytes(value))

    def meta_delete(self, namespace: str, key: str) -> concurrent.futures.Future:
        """Delete a metadata entry; the future resolves once the delete is durable."""
        self._check_namespace(namespace)
        with self._meta_lock:
            self._meta.pop((namespace, key), None)
        return self.flusher.put_meta(namespace, key, None)

    def close(self, timeout: float | None = None) -> bool:
        """Persist everything queued and close the database; True if it drained in time."""
        if self._closed:
            return True
        self._closed = True
        self._close_store()
        if self.flusher.started:
            return self.flusher.stop(timeout)
        return True

    def _close_store(self) -> None:
        """Close the server's own connection (warmup and metadata reads are done with it);
        from then on only the writer process touches the database."""
        if self._store_open:
            self._store_open = False
            self.store.close(checkpoint=False)

    @staticmethod
    def _check_namespace(namespace: str) -> None:
        if namespace == COUNTERS:
            raise ValueError(f"metadata namespace {COUNTERS!r} is reserved for the CAS and "
                             "seqno counters")


def _throttle(bucket: Any) -> None:
    """Make the bucket answer writes with ETMPFAIL until the flusher catches up."""
    bucket.throttled = True
