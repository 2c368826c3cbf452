"""The data directory as a whole: lock, bucket definitions, per-bucket persistence, shutdown."""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from .batch_writer import BatchWriter
from .bucket_persistence import BucketPersistence
from .commit_log import COMPACT_IDLE_S, LOG_LIMIT_BYTES
from .datadir import DataDir
from .definitions import BucketDefinition, load_definitions, save_definitions
from .errors import StorageError
from .health import StorageHealth
from .log_compaction import fold_log
from .store import BucketStore

log = logging.getLogger("cbserver.storage")


class StorageManager:
    """Owns one data directory; the server asks it for bucket definitions and persistence."""

    def __init__(self, root: Path | str, *, pager_interval: float = 60.0,
                 max_backlog_bytes: int = 64 << 20, compact_idle_s: float = COMPACT_IDLE_S,
                 log_limit_bytes: int = LOG_LIMIT_BYTES) -> None:
        self.data_dir = DataDir(root)
        self.health = StorageHealth()
        self.definitions: dict[str, BucketDefinition] = {}
        self._buckets: dict[str, BucketPersistence] = {}
        self._flusher_options = {"pager_interval": pager_interval,
                                 "max_backlog_bytes": max_backlog_bytes,
                                 "compact_idle_s": compact_idle_s,
                                 "log_limit_bytes": log_limit_bytes}

    @property
    def root(self) -> Path:
        """Return the absolute data directory path."""
        return self.data_dir.root

    def open(self) -> list[BucketDefinition]:
        """Lock the directory, read the definitions and report foreign files; return buckets."""
        self.data_dir.acquire()
        try:
            self.definitions = load_definitions(self.data_dir.definitions_path)
            self.data_dir.scan(set(self.definitions), self.health)
        except BaseException:
            self.data_dir.release()
            raise
        log.info("data directory %s: %d bucket definition(s)", self.root, len(self.definitions))
        return list(self.definitions.values())

    def define(self, definition: BucketDefinition) -> None:
        """Add or update a bucket definition and write the definitions file atomically."""
        self.data_dir.bucket_dir(definition.name)
        updated = dict(self.definitions)
        updated[definition.name] = definition
        save_definitions(self.data_dir.definitions_path, updated)
        self.definitions = updated

    def open_bucket(self, name: str) -> BucketPersistence:
        """Open (or create) the database of a defined bucket; raises CorruptStoreError if bad."""
        if name in self._buckets:
            return self._buckets[name]
        path = self.data_dir.kv_path(name)
        if not path.exists() and self.data_dir.bucket_dir(name).exists():
            self.health.warning(str(path), f"database of bucket {name!r} is missing; the bucket "
                                           "starts empty")
        store = BucketStore.open(path)
        try:
            _fold_leftover_log(store)
            persistence = BucketPersistence(name, store, self.health,
                                            lock_fd=self.data_dir.lock_fd,
                                            **self._flusher_options)
        except BaseException:
            store.close(checkpoint=False)
            raise
        self._buckets[name] = persistence
        return persistence

    def bucket(self, name: str) -> BucketPersistence | None:
        """Return the open persistence of bucket ``name``, if any."""
        return self._buckets.get(name)

    def delete_bucket(self, name: str) -> None:
        """Stop the bucket's flusher, remove its files and its definition."""
        persistence = self._buckets.pop(name, None)
        if persistence is not None:
            persistence.close()
        if self.data_dir.bucket_dir(name).exists():
            self.data_dir.remove_bucket_files(name)
        if name in self.definitions:
            remaining = {key: value for key, value in self.definitions.items() if key != name}
            save_definitions(self.data_dir.definitions_path, remaining)
            self.definitions = remaining

    def close(self, timeout: float | None = None) -> bool:
        """Flush and close every bucket, release the lock; True if everything drained."""
        drained = True
        for name, persistence in list(self._buckets.items()):
            if not persistence.close(timeout):
                log.error("bucket %r: flusher did not drain within %ss", name, timeout)
                drained = False
        self._buckets.clear()
        self.data_dir.release()
        return drained


def _fold_leftover_log(store: BucketStore) -> None:
    """Fold the commit log a crashed server left into the database before warmup reads it
    (a torn last record is dropped; other damage raises CorruptStoreError)."""
    try:
        folded = fold_log(BatchWriter(store), store.path.parent)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(store.path, f"cannot fold the commit log into the database: "
                                       f"{exc}") from None
    if folded:
        log.info("%s: replayed %d logged mutation(s) into the database", store.path, folded)
