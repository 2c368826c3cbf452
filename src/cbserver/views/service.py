"""The view service of a server: one BucketViews per bucket and one thread for all view work.

JavaScript contexts are bound to the thread that created them, and index structures are
only touched by that same thread, so every drain, build and query step runs on a single
worker thread; the event loop only queues mutations and writes HTTP bytes.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from .bucket_views import BucketViews
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT

log = logging.getLogger(__name__)
T = TypeVar("T")

#: 2.x automatic updater: index in the background once this many changes are queued.
UPDATE_MIN_CHANGES = 5000


class ViewService:
    """Owns the views of every bucket of a server and the thread that runs them."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT,
                 update_min_changes: int = UPDATE_MIN_CHANGES) -> None:
        self._views: dict[str, tuple[Any, BucketViews]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cbserver-views")
        self._time_limit = time_limit
        self._memory_limit = memory_limit
        self._update_min_changes = update_min_changes
        self._draining: set[str] = set()

    def for_bucket(self, bucket: Any) -> BucketViews:
        """Return the views of ``bucket``, subscribing to it on first use."""
        known = self._views.get(bucket.name)
        if known is not None and known[0] is bucket:
            return known[1]
        if known is not None:
            known[0].unsubscribe(known[1])
        views = BucketViews(bucket.name, bucket.num_vbuckets, bucket.clock,
                            self._time_limit, self._memory_limit)
        views.on_pending = lambda count: self._maybe_update(bucket, views, count)
        bucket.subscribe(views)
        self._views[bucket.name] = (bucket, views)
        return views

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` on the view worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

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

    def close(self) -> None:
        """Stop the worker thread after the work already queued."""
        for bucket, views in self._views.values():
            bucket.unsubscribe(views)
        self._views.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _log_failure(future: Any) -> None:
    """Log an exception raised by background view work."""
    if not future.cancelled() and future.exception() is not None:
        log.error("background view work failed", exc_info=future.exception())

