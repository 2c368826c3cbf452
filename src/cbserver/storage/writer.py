"""The storage writer process of one bucket: folds the commit log into SQLite.

Run by :class:`~.writer_process.WriterProcess` as ``python -m cbserver.storage.writer
PATH SOCKET_FD LOCK_FD``, on a core of its own instead of competing with the event loop
for one interpreter lock. The server's flusher thread makes batches durable itself, by
appending them to the commit log (:mod:`.commit_log`); this process does the expensive
part later: ``("fold", purge_before, names)`` folds those sealed segments (oldest first)
into SQLite in one transaction and deletes them, then, when ``purge_before`` is not
None (the expiry pager), deletes the rows that expired by then in a second one,
answering ``("ok", entries, purged)``; ``("commit", truncate, seqno, payload, meta,
names)`` (bucket flush, metadata) first folds the named segments, so it sees every
older write, then commits (``synchronous=FULL``), answering ``("ok", rows)``. Purging
after the fold of every older segment keeps the table right: any newer write of a
purged key is in a later segment, folded later. Failures answer ``("error",
text)`` and leave the segments in place; the server decides about retries. A segment
named but gone was folded by an earlier writer that died before it answered (segments
are deleted only after their fold committed, oldest first). The writer holds the data
directory's lock descriptor, so a new server cannot start on the directory while a
fold of the old one may still run. It never outlives its server: end of stream on the
socket (the server exited or was killed) ends it. SIGINT and SIGTERM are ignored (a
Ctrl-C reaches the whole process group; the server drains the writer before it exits)
and SIGXFSZ too, so a file-size limit is reported as an error instead of killing it.
It runs at a lower scheduling priority (:data:`NICENESS`): folding is background work
that may wait a few milliseconds, while the event loop and the clients it serves may
not. On a machine whose cores the server and its clients fill, a fold at equal priority
held a client's process off its core for whole time slices, starving the event loop of
requests; the durability point is the flusher's append, which the writer does not
delay.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

from .batch_writer import BatchWriter
from .errors import StorageError
from .log_compaction import fold_segments
from .store import BucketStore
from .writer_wire import WireClosed, receive, send

log = logging.getLogger("cbserver.storage")

#: How much lower the writer's scheduling priority is than its server's (``nice``). Measured
#: on a two-core VM under saturating SETs (three interleaved A/B series): +10 gave the
#: persistent server 9-12% more throughput, and the writer still kept up (0.7-1.1 µs of
#: CPU per write during the rounds, as at equal priority).
NICENESS = 10


def serve(sock: socket.socket, path: Path) -> int:
    """Open the database, then answer messages until ``stop`` or end of stream."""
    try:
        store = BucketStore.open(path, check=False)
    except (StorageError, sqlite3.Error, OSError) as exc:
        send(sock, ("failed", f"cannot open {path}: {exc}"))
        return 1
    writer = BatchWriter(store)
    send(sock, ("ready", os.getpid()))
    checkpoint_at_close = False
    try:
        while True:
            message = receive(sock)
            if message[0] == "stop":
                checkpoint_at_close = True
                break
            send(sock, handle(writer, message))
    except WireClosed:
        return 0
    finally:
        store.close(checkpoint=checkpoint_at_close)
    send(sock, ("closed",))
    return 0


def handle(writer: BatchWriter, message: tuple) -> tuple:
    """Answer one ``fold`` or ``commit`` message (the segments named last in both)."""
    segments = [writer.store.path.parent / name for name in message[-1]]
    try:
        entries = fold_segments(writer, [path for path in segments if path.exists()],
                                written_here=segments)
    except (StorageError, sqlite3.Error, OSError) as exc:
        log.error("fold of %s failed: %s; the segments are kept and folded later",
                  writer.store.path, exc)
        return ("error", f"cannot fold the commit log into {writer.store.path}: {exc}")
    if message[0] == "commit":
        return writer.commit(message[:-1])
    purge_before = message[1]
    if purge_before is None:
        return ("ok", entries, 0)
    try:
        return ("ok", entries, writer.purge(purge_before))
    except sqlite3.Error as exc:
        log.error("expiry purge of %s failed: %s; it is tried again at the next pager run",
                  writer.store.path, exc)
        return ("error", f"cannot purge expired documents from {writer.store.path}: {exc}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``PATH SOCKET_FD LOCK_FD`` (the lock descriptor is only held open)."""
    args = argv if argv is not None else sys.argv[1:]
    path, sock_fd, _lock_fd = args[:3]
    logging.basicConfig(level=logging.WARNING, format="cbserver writer: %(message)s")
    os.nice(NICENESS)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    with socket.socket(fileno=int(sock_fd)) as sock:
        try:
            return serve(sock, Path(path))
        except WireClosed:
            return 0


if __name__ == "__main__":
    sys.exit(main())
