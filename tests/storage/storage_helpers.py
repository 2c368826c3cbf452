"""Shared helpers of the storage tests: a real engine bucket persisted in a temp data dir."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from cbserver.engine import Bucket, BucketSettings
from cbserver.storage import BucketDefinition, StorageManager, warm_up
from cbserver.storage.commit_log import iter_records, list_segments
from cbserver.storage.log_record import decode_batch, pairs


async def open_bucket(root: Path, name: str = "default", clock: Callable[[], float] = time.time,
                      **options) -> tuple[StorageManager, Bucket]:
    """Open the data dir, define ``name`` if needed, warm it up and attach its flusher."""
    manager = StorageManager(root, **options)
    manager.open()
    if name not in manager.definitions:
        manager.define(BucketDefinition(name))
    bucket = Bucket(BucketSettings(name), clock=clock)
    persistence = manager.open_bucket(name)
    await warm_up(persistence, bucket)
    persistence.start(bucket, asyncio.get_running_loop())
    return manager, bucket


async def settle(manager: StorageManager, name: str = "default") -> None:
    """Wait until everything written so far is durable and the engine was told."""
    await asyncio.wrap_future(manager.bucket(name).checkpoint())
    await asyncio.sleep(0)


def durable_keys(root: Path, name: str = "default") -> set[bytes]:
    """Return the keys durable on disk: SQLite rows with the commit log applied in order.

    Reads without changing anything (a running flusher may be appending; a record it is
    still writing counts as not there yet).
    """
    bucket_dir = root / "buckets" / name
    conn = sqlite3.connect(f"file:{bucket_dir / 'kv.sqlite3'}?mode=ro", uri=True)
    try:
        keys = {bytes(row[0]) for row in conn.execute("SELECT key FROM docs")}
    finally:
        conn.close()
    for segment in list_segments(bucket_dir):
        for _, payload in iter_records(segment.read_bytes()):
            for key, state in pairs(decode_batch(payload)[1]):
                if isinstance(state, int):
                    keys.discard(key)
                else:
                    keys.add(key)
    return keys


def warm_restart(root: Path, name: str = "default") -> Bucket:
    """Open a data dir as a new server would (warmup included) and return the bucket."""
    async def warm() -> Bucket:
        manager = StorageManager(root)
        manager.open()
        bucket = Bucket(BucketSettings(name))
        try:
            await warm_up(manager.open_bucket(name), bucket)
        finally:
            assert manager.close()
        return bucket

    return asyncio.run(warm())
