"""The storage writer process of one bucket: commits the flusher's batches to SQLite.

Run by :class:`~.writer_process.WriterProcess` as ``python -m cbserver.storage.writer
PATH SOCKET_FD LOCK_FD``, so SQLite's CPU time runs on a core of its own instead of
competing with the event loop for one interpreter lock. It answers every ``commit``
message, in order, only after the transaction is durable (``synchronous=FULL``), with
``("ok", purged)`` or ``("error", text)`` after a rollback; the server decides about
retries. It holds the data directory's lock descriptor, so a new server cannot start on
the directory while a batch of the old one may still be committing. It never outlives
its server: end of stream on the socket (the server exited or was killed) ends it.
SIGINT and SIGTERM are ignored (a Ctrl-C reaches the whole process group; the server
drains the writer before it exits) and SIGXFSZ too, so a file-size limit is reported as
an error instead of killing the process.
"""
from __future__ import annotations

import os
from array import array
import signal
import socket
import sqlite3
import sys
from pathlib import Path

from .errors import StorageError
from .store import BucketStore, MetaOp
from .writer_wire import WireClosed, receive, send


class BatchWriter:
    """Turns commit messages into :meth:`BucketStore.commit` calls; keeps the counters."""

    def __init__(self, store: BucketStore) -> None:
        self.store = store
        self.max_cas = store.counter("max_cas")
        self.max_seqno = store.counter("max_seqno")

    def commit(self, message: tuple) -> tuple:
        """Apply one commit message (see ``Flusher._encode``); integer columns arrive as
        packed unsigned 64-bit arrays and are read back as signed, SQLite's INTEGER."""
        (_, truncate, purge_before, seqno, keys, values, flags, expiry, cas, datatype,
         seqnos, deletes, meta) = message
        upserts = list(zip(keys, values, _u64(flags), _u64(expiry), _i64(cas), datatype,
                           _i64(seqnos)))
        max_cas = max(self.max_cas, max(_u64(cas), default=0))
        counters = {}
        if seqno > self.max_seqno:
            counters = {"max_cas": max_cas, "max_seqno": seqno}
        try:
            purged = self.store.commit(truncate=truncate, upserts=upserts,
                                       deletes=[(key,) for key in deletes],
                                       meta=[MetaOp(*op) for op in meta], counters=counters,
                                       purge_before=purge_before)
        except sqlite3.Error as exc:
            return ("error", f"{type(exc).__name__}: {exc}")
        self.max_cas = max_cas
        self.max_seqno = max(self.max_seqno, seqno)
        return ("ok", purged)


def _u64(packed: bytes) -> array:
    return array("Q", packed)


def _i64(packed: bytes) -> array:
    """The same bit patterns as signed numbers (what ``store.to_sql_u64`` computes)."""
    return array("q", packed)


def serve(sock: socket.socket, path: Path) -> int:
    """Open the database, then answer messages until ``stop`` or end of stream."""
    try:
        store = BucketStore.open(path, check=False)
    except (StorageError, sqlite3.Error, OSError) as exc:
        send(sock, ("failed", f"cannot open {path}: {exc}"))
        return 1
    send(sock, ("ready", os.getpid()))
    writer = BatchWriter(store)
    checkpoint_at_close = False
    try:
        while True:
            message = receive(sock)
            if message[0] == "stop":
                checkpoint_at_close = True
                break
            send(sock, writer.commit(message))
    except WireClosed:
        return 0
    finally:
        store.close(checkpoint=checkpoint_at_close)
    send(sock, ("closed",))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``PATH SOCKET_FD LOCK_FD`` (the lock descriptor is only held open)."""
    path, sock_fd, _lock_fd = (argv if argv is not None else sys.argv[1:])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    with socket.socket(fileno=int(sock_fd)) as sock:
        try:
            return serve(sock, Path(path))
        except WireClosed:
            return 0


if __name__ == "__main__":
    sys.exit(main())
