"""The storage writer process of one bucket: commits the flusher's batches to SQLite.

Run by :class:`~.writer_process.WriterProcess` as ``python -m cbserver.storage.writer
PATH SOCKET_FD LOCK_FD``, so SQLite's CPU time runs on a core of its own instead of
competing with the event loop for one interpreter lock. It answers every ``commit``
message, in order, only after the transaction is durable (``synchronous=FULL``), with
``("ok", purged, rows)`` or ``("error", text)`` after a rollback; the server decides about
retries. It holds the data directory's lock descriptor, so a new server cannot start on
the directory while a batch of the old one may still be committing. It never outlives
its server: end of stream on the socket (the server exited or was killed) ends it.
SIGINT and SIGTERM are ignored (a Ctrl-C reaches the whole process group; the server
drains the writer before it exits) and SIGXFSZ too, so a file-size limit is reported as
an error instead of killing the process.
"""
from __future__ import annotations

import operator
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

from .errors import StorageError
from .store import I64_MAX, BucketStore, MetaOp, to_sql_u64
from .writer_wire import WireClosed, receive, send

#: Engine record fields (``cbserver.engine.item``) in the order of a row after its key.
_ROW_OF = operator.itemgetter(0, 1, 5, 2, 3, 4)
_CAS_OF = operator.itemgetter(2)


class BatchWriter:
    """Turns commit messages into :meth:`BucketStore.commit` calls; keeps the counters."""

    def __init__(self, store: BucketStore) -> None:
        self.store = store
        self.max_cas = store.counter("max_cas")
        self.max_seqno = store.counter("max_seqno")

    def commit(self, message: tuple) -> tuple:
        """Apply one commit message (see ``Flusher._encode``) and answer ``("ok", purged,
        rows written)`` or ``("error", text)``.

        The entries arrive in mutation order as the flusher queued them, ``(key, record)``
        for a write and ``(key, seqno)`` for a delete, so the last entry of a key is its
        newest state; unpacking them into rows happens here, off the server's cores.
        """
        _, truncate, purge_before, seqno, entries, meta = message
        upserts, deletes, max_cas = _rows(dict(entries), self.max_cas)
        counters = {}
        if seqno > self.max_seqno:
            counters = {"max_cas": max_cas, "max_seqno": seqno}
        try:
            purged = self.store.commit(truncate=truncate, upserts=upserts, deletes=deletes,
                                       meta=[MetaOp(*op) for op in meta], counters=counters,
                                       purge_before=purge_before)
        except sqlite3.Error as exc:
            return ("error", f"{type(exc).__name__}: {exc}")
        self.max_cas = max_cas
        self.max_seqno = max(self.max_seqno, seqno)
        return ("ok", purged, len(upserts) + len(deletes))


def _rows(newest: dict[bytes, Any], max_cas: int) -> tuple[list[tuple], list[tuple], int]:
    """Split the newest state per key into upsert rows (key, value, flags, expiry, cas,
    datatype, seqno; CAS as SQLite's signed INTEGER) and delete rows, and return the
    highest CAS seen. A batch of writes only, with CAS values SQLite takes as they are
    (the usual case), is converted by C-level ``map`` calls, without a Python loop."""
    states = list(newest.values())
    if states and int not in set(map(type, states)):
        batch_max_cas = max(map(_CAS_OF, states))
        if batch_max_cas <= I64_MAX:
            rows = list(map(operator.add, zip(newest), map(_ROW_OF, states)))
            return rows, [], max(max_cas, batch_max_cas)
    upserts: list[tuple] = []
    deletes: list[tuple] = []
    for key, state in newest.items():
        if state.__class__ is int:
            deletes.append((key,))
            continue
        value, flags, cas, datatype, seqno, expiry, _ = state
        if cas > max_cas:
            max_cas = cas
        upserts.append((key, value, flags, expiry, to_sql_u64(cas), datatype, seqno))
    return upserts, deletes, max_cas


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
