"""Warmup: stream a bucket's documents from disk into the engine before data operations."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from .bucket_persistence import BucketPersistence


@dataclass(frozen=True)
class WarmupReport:
    """What a warmup loaded: document count and the time it took."""

    bucket: str
    documents: int
    seconds: float


async def warm_up(persistence: BucketPersistence, bucket: Any) -> WarmupReport:
    """Read chunks in a worker thread and ``bucket.restore`` each on the event loop.

    Restored documents keep their CAS, flags and absolute expiry, and the bucket's CAS and
    seqno counters move past every value handed out before the restart (persisted counters
    included), so new CAS values stay unique. Expired rows are skipped.
    """
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    chunks = persistence.load(int(time.time()))
    documents = 0
    while chunk := await loop.run_in_executor(None, next, chunks, None):
        bucket.restore(chunk)
        documents += len(chunk)
    bucket.restore((), max_cas=persistence.max_cas, max_seqno=persistence.max_seqno)
    return WarmupReport(persistence.name, documents, time.monotonic() - started)
