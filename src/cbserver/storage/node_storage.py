"""The server's side of persistence: bucket definitions <-> engine buckets, warmup tasks,
write back-pressure, figures for STAT and REST, and the flush-everything shutdown."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cbserver.engine import Bucket, BucketSettings

from .bucket_persistence import BucketPersistence
from .definitions import BucketDefinition
from .manager import StorageManager
from .warmup import warm_up

log = logging.getLogger("cbserver.storage")

MIB = 1024 * 1024
_SETTINGS_EXTRAS = ("num_vbuckets", "proxy_port", "uuid")


def definition_of(settings: BucketSettings) -> BucketDefinition:
    """Return the persistent form of an engine bucket's settings."""
    return BucketDefinition(
        name=settings.name, bucket_type=settings.bucket_type, password=settings.password,
        ram_quota_mb=max(1, settings.ram_quota // MIB), flush_enabled=settings.flush_enabled,
        replica_number=settings.replica_number,
        settings={name: getattr(settings, name) for name in _SETTINGS_EXTRAS})


def settings_of(definition: BucketDefinition) -> BucketSettings:
    """Return engine settings rebuilt from a stored definition."""
    extras = {name: definition.settings[name] for name in _SETTINGS_EXTRAS
              if name in definition.settings}
    return BucketSettings(name=definition.name, password=definition.password,
                          bucket_type=definition.bucket_type,
                          ram_quota=definition.ram_quota_mb * MIB,
                          replica_number=definition.replica_number,
                          flush_enabled=definition.flush_enabled, **extras)


class NodeStorage:
    """Persistence of every bucket of one server, driven from the server's event loop."""

    def __init__(self, root: Path | str, *, pager_interval: float = 60.0,
                 max_backlog_bytes: int = 64 * MIB) -> None:
        self.manager = StorageManager(root, pager_interval=pager_interval,
                                      max_backlog_bytes=max_backlog_bytes)
        self._warmups: dict[str, asyncio.Task] = {}

    @property
    def root(self) -> Path:
        """Return the data directory."""
        return self.manager.root

    def open(self) -> list[BucketSettings]:
        """Lock the data directory and return the settings of every stored bucket."""
        return [settings_of(definition) for definition in self.manager.open()]

    def attach(self, bucket: Bucket) -> None:
        """Define ``bucket`` on disk and, for persistent types, start its warmup.

        Raises CorruptStoreError (naming the file) when its database cannot be used. Until
        the warmup task finished, ``bucket.warming_up`` is True and data operations get
        ETMPFAIL.
        """
        definition = definition_of(bucket.settings)
        if self.manager.definitions.get(bucket.name) != definition:
            self.manager.define(definition)
        if not definition.persistent:
            return
        persistence = self.manager.open_bucket(bucket.name)
        bucket.warming_up = True
        self._warmups[bucket.name] = asyncio.get_running_loop().create_task(
            self._warm(bucket, persistence), name=f"warmup-{bucket.name}")

    async def _warm(self, bucket: Bucket, persistence: BucketPersistence) -> None:
        loop = asyncio.get_running_loop()
        try:
            report = await warm_up(persistence, bucket)
        except Exception as exc:
            self.manager.health.error(str(persistence.store.path), f"warmup of bucket "
                                      f"{bucket.name!r} failed: {exc}; it stays unavailable "
                                      "(ETMPFAIL) so nothing on disk is overwritten")
            return
        persistence.start(bucket, loop)
        bucket.warming_up = False
        log.info("bucket %r warmed up: %d document(s) in %.3f s", bucket.name, report.documents,
                 report.seconds)

    async def wait_warm(self) -> None:
        """Wait until every warmup started so far has finished."""
        tasks = [task for task in self._warmups.values() if not task.done()]
        if tasks:
            await asyncio.gather(*tasks)

    def save(self, buckets: Iterable[Bucket]) -> None:
        """Write the definitions again if any bucket's settings changed (REST update)."""
        for bucket in buckets:
            definition = definition_of(bucket.settings)
            if self.manager.definitions.get(bucket.name) != definition:
                self.manager.define(definition)

    def delete(self, bucket: Bucket) -> None:
        """Forget ``bucket``: stop its flusher, remove its files and its definition."""
        task = self._warmups.pop(bucket.name, None)
        if task is not None:
            task.cancel()
        persistence = self.manager.bucket(bucket.name)
        if persistence is not None:
            persistence.detach(bucket)
        self.manager.delete_bucket(bucket.name)

    def stats(self, bucket: Bucket) -> dict[str, Any]:
        """Return the ep_* persistence and warmup figures of ``bucket`` for STAT."""
        persistence = self.manager.bucket(bucket.name)
        figures: dict[str, Any] = {"ep_warmup_thread": "running" if bucket.warming_up
                                   else "complete"}
        if persistence is not None:
            figures.update(persistence.flusher.stats())
        return figures

    def to_json(self) -> dict[str, Any]:
        """Return the data directory and its health for REST."""
        return {"dataDir": str(self.root), **self.manager.health.to_json()}

    async def close(self) -> bool:
        """Finish warmups, persist everything queued and release the directory."""
        for task in self._warmups.values():
            task.cancel()
        await asyncio.gather(*self._warmups.values(), return_exceptions=True)
        drained = await asyncio.get_running_loop().run_in_executor(None, self.manager.close)
        if drained:
            log.info("data directory %s: every mutation persisted, closed", self.root)
        return drained
