"""Shared helpers of the storage tests: a real engine bucket persisted in a temp data dir."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from cbserver.engine import Bucket, BucketSettings
from cbserver.storage import BucketDefinition, StorageManager, warm_up


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
