"""The view service of a server: one BucketViews per bucket and one thread for all view work.

JavaScript contexts are bound to the thread that created them, and index structures are
only touched by that same thread, so every drain, build and query step runs on a single
worker thread; the event loop only queues mutations and writes HTTP bytes.  For buckets
with persistence, design documents and index snapshots are loaded after the bucket's
warmup, index snapshots are saved every ``snapshot_interval`` seconds when something
changed, after every full build and at shutdown.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from .bucket_views import BucketViews
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT
from .persistence import MetadataTable, ViewPersistence

log = logging.getLogger(__name__)
T = TypeVar("T")

#: 2.x automatic updater: index in the background once this many changes are queued.
UPDATE_MIN_CHANGES = 5000
#: Seconds between index snapshots of a bucket whose indexes changed.
SNAPSHOT_INTERVAL = 60.0
#: Seconds a view request waits for its bucket to finish loading from disk.
WARMUP_WAIT = 30.0


class BucketWarmingUp(Exception):
    """The bucket is still loading from disk (HTTP 503)."""

    def __init__(self, bucket_name: str) -> None:
        self.reason = f"bucket `{bucket_name}` is warming up; retry later"
        super().__init__(self.reason)


class ViewService:
    """Owns the views of every bucket of a server and the thread that runs them."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT,
                 update_min_changes: int = UPDATE_MIN_CHANGES,
                 persistence_of: Callable[[Any], MetadataTable | None] | None = None,
                 snapshot_interval: float = SNAPSHOT_INTERVAL) -> None:
        self._views: dict[str, tuple[Any, BucketViews]] = {}
        self._opening: dict[str, asyncio.Future] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cbserver-views")
        self._time_limit = time_limit
        self._memory_limit = memory_limit
        self._update_min_changes = update_min_changes
        self._persistence_of = persistence_of
        self._snapshot_interval = snapshot_interval
        self._draining: set[str] = set()
        self._saver: asyncio.Task | None = None

    async def open(self, bucket: Any) -> BucketViews:
        """Return the views of ``bucket``, loading its stored design docs and indexes once."""
        known = self._views.get(bucket.name)
        if known is not None and known[0] is bucket:
            return known[1]
        opening = self._opening.get(bucket.name)
        if opening is not None:
            return await asyncio.shield(opening)
        future = asyncio.get_running_loop().create_future()
        self._opening[bucket.name] = future
        try:
            views = await self._load(bucket)
            future.set_result(views)
            return views
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._opening[bucket.name]

    async def _load(self, bucket: Any) -> BucketViews:
        """Wait for the bucket's warmup, then attach its views and restore them from disk."""
        deadline = time.monotonic() + WARMUP_WAIT
        while getattr(bucket, "warming_up", False):
            if time.monotonic() >= deadline:
                raise BucketWarmingUp(bucket.name)
            await asyncio.sleep(0.05)
        table = self._persistence_of(bucket) if self._persistence_of is not None else None
        store = ViewPersistence(table, bucket.name) if table is not None else None
        views = self._attach(bucket, store)
        if store is not None:
            await self.run(views.load, bucket.records_snapshot(), bucket.seqno)
            if views.dirty:
                self.submit(views.save)
        return views

    def _attach(self, bucket: Any, store: ViewPersistence | None) -> BucketViews:
        """Create the views of ``bucket`` and subscribe them to its mutations."""
        known = self._views.get(bucket.name)
        if known is not None:
            known[0].unsubscribe(known[1])
        views = BucketViews(bucket.name, bucket.num_vbuckets, bucket.clock,
                            self._time_limit, self._memory_limit, store)
        views.on_pending = lambda count: self._maybe_update(bucket, views, count)
        bucket.subscribe(views)
        self._views[bucket.name] = (bucket, views)
        return views

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` on the view worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def put_design(self, bucket: Any, name: str, raw: bytes) -> Any:
        """Store design document ``name`` of ``bucket``, build the views it changed and catch
        them up with writes made meanwhile (every change bumps the bucket's seqno, so an
        unchanged seqno means there is nothing to catch up); raises InvalidDesignDocument."""
        views = await self.open(bucket)
        seqno = bucket.seqno
        ddoc = await self.run(views.put_design, name, raw, bucket.records_snapshot())
        if bucket.seqno != seqno:
            await self.run(views.catch_up, name, bucket.records_snapshot(), seqno)
        if views.persistent and views.dirty:
            self.submit(views.save)
        return ddoc

    def submit(self, func: Callable[..., Any], *args: Any) -> None:
        """Queue ``func(*args)`` on the worker thread without waiting (logs failures)."""
        future = self._executor.submit(func, *args)
        future.add_done_callback(_log_failure)

    def _maybe_update(self, bucket: Any, views: BucketViews, count: int) -> None:
        """Start a background drain once enough changes are queued, like 2.x's updater."""
        if count >= self._update_min_changes and bucket.name not in self._draining:
            self._draining.add(bucket.name)
            self.submit(self._background_drain, bucket.name, views)

    def _background_drain(self, name: str, views: BucketViews) -> None:
        """Drain on the worker thread, then allow the next background drain."""
        try:
            views.drain()
        finally:
            self._draining.discard(name)

    @staticmethod
    def _checkpoint(views: BucketViews) -> int:
        """Bring the indexes current and save their snapshots if they changed."""
        views.drain()
        return views.save()

    def start(self) -> None:
        """Start the periodic snapshot task on the running loop."""
        if self._saver is None:
            self._saver = asyncio.get_running_loop().create_task(self._save_periodically())

    async def _save_periodically(self) -> None:
        """Every ``snapshot_interval`` seconds, checkpoint the views of every bucket."""
        while True:
            await asyncio.sleep(self._snapshot_interval)
            for _, views in list(self._views.values()):
                if not views.persistent:
                    continue
                try:
                    await self.run(self._checkpoint, views)
                except Exception:
                    log.exception("saving the indexes of bucket %s failed", views.bucket_name)

    async def close(self) -> None:
        """Save every index snapshot, then stop the worker thread."""
        if self._saver is not None:
            self._saver.cancel()
        for bucket, views in list(self._views.values()):
            bucket.unsubscribe(views)
            if not views.persistent:
                continue
            try:
                await self.run(self._checkpoint, views)
            except Exception:
                log.exception("saving the indexes of bucket %s at shutdown failed",
                              views.bucket_name)
        self._views.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _log_failure(future: Any) -> None:
    """Log an exception raised by background view work."""
    if not future.cancelled() and future.exception() is not None:
        log.error("background view work failed", exc_info=future.exception())
