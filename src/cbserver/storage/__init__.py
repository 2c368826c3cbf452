"""Persistence for cbserver: SQLite write-behind storage, warmup and durability.

Layout of a data directory (see :mod:`.datadir`)::

    <data-dir>/.lock                    exclusive lock of the running server (holds its pid)
    <data-dir>/buckets.json             bucket definitions, written atomically
    <data-dir>/buckets/<name>/kv.sqlite3  one SQLite database (WAL) per bucket
    <data-dir>/buckets/<name>/flushed-seqno  seqno of the last flush (:mod:`.flush_marker`)

Use from the server: ``StorageManager(root).open()`` returns the bucket definitions;
``open_bucket(name)`` returns a :class:`BucketPersistence`; :func:`warm_up` streams its
documents into the engine; ``persistence.start(bucket, loop)`` attaches the write-behind
flusher's queue to the bucket (the engine appends every mutation to it), hands the
database to the bucket's writer process (:mod:`.writer`, SQLite on a core of its own)
and reports durable progress with
``bucket.mark_persisted(seqno)``, which OBSERVE "persisted" rests on;
``manager.close()`` drains every flusher at shutdown. Problems (foreign files,
failed commits, a full disk) are collected in ``manager.health`` for the log and REST.
The per-bucket metadata table for design documents and index state is described on
:class:`BucketPersistence`.
"""
from .bucket_persistence import BucketPersistence
from .datadir import DataDir, default_data_dir
from .definitions import BucketDefinition
from .errors import CorruptStoreError, DataDirLockedError, StorageError
from .flusher import Flusher
from .health import StorageHealth
from .manager import StorageManager
from .store import BucketStore, StoredDoc
from .warmup import WarmupReport, warm_up

__all__ = [
    "BucketDefinition", "BucketPersistence", "BucketStore", "CorruptStoreError", "DataDir",
    "DataDirLockedError", "Flusher", "StorageError", "StorageHealth", "StorageManager",
    "StoredDoc", "WarmupReport", "default_data_dir", "warm_up",
]
