"""The storage writer process of one bucket: makes the flusher's batches durable.

Run by :class:`~.writer_process.WriterProcess` as ``python -m cbserver.storage.writer
PATH SOCKET_FD LOCK_FD [COMPACT_IDLE_S LOG_LIMIT_BYTES]``, on a core of its own instead
of competing with the event loop for one interpreter lock. An ``append`` (a plain batch
of writes and deletes) is appended to the bucket's commit log (:mod:`.commit_log`) and
fdatasync'd before the answer ``("ok", 0, 0)``: that is its durability point. Any other
``commit`` (bucket flush, metadata, expiry purge) first folds the log into SQLite
(:mod:`.log_compaction`) and then commits (``synchronous=FULL``), answering ``("ok",
purged, rows)``. Failures answer ``("error", text)``; the server decides about retries.
The log is also folded after a quiet spell, once it is over its size limit, at start
(what a crashed writer left) and at ``stop``. The writer holds the data directory's lock
descriptor, so a new server cannot start on the directory while a batch of the old one
may still be written. It never outlives its server: end of stream on the socket (the
server exited or was killed) ends it. SIGINT and SIGTERM are ignored (a Ctrl-C reaches
the whole process group; the server drains the writer before it exits) and SIGXFSZ too,
so a file-size limit is reported as an error instead of killing the process.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sqlite3
import sys
from pathlib import Path

from .batch_writer import BatchWriter
from .commit_log import COMPACT_IDLE_S, LOG_LIMIT_BYTES, CommitLog
from .errors import StorageError
from .log_compaction import fold_log
from .store import BucketStore
from .writer_wire import WireClosed, receive, send

log = logging.getLogger("cbserver.storage")

def serve(sock: socket.socket, path: Path, compact_idle_s: float = COMPACT_IDLE_S,
          log_limit_bytes: int = LOG_LIMIT_BYTES) -> int:
    """Open the database, fold any leftover log into it, then answer messages until
    ``stop`` or end of stream."""
    try:
        store = BucketStore.open(path, check=False)
    except (StorageError, sqlite3.Error, OSError) as exc:
        send(sock, ("failed", f"cannot open {path}: {exc}"))
        return 1
    writer = BatchWriter(store)
    try:
        fold_log(writer, path.parent)
    except (StorageError, sqlite3.Error, OSError) as exc:
        store.close(checkpoint=False)
        send(sock, ("failed", f"cannot fold the commit log of {path}: {exc}"))
        return 1
    send(sock, ("ready", os.getpid()))
    session = _Session(writer, CommitLog(path.parent), log_limit_bytes)
    checkpoint_at_close = False
    try:
        while True:
            if session.unfolded and not _readable(sock, compact_idle_s):
                session.compact()
                continue
            message = receive(sock)
            if message[0] == "stop":
                session.compact()
                checkpoint_at_close = True
                break
            send(sock, session.handle(message))
            if session.log.size >= log_limit_bytes:
                session.compact()
    except WireClosed:
        return 0
    finally:
        session.log.seal()
        store.close(checkpoint=checkpoint_at_close)
    send(sock, ("closed",))
    return 0


class _Session:
    """The writer's state between messages: the SQLite batch writer and the commit log."""

    def __init__(self, writer: BatchWriter, commit_log: CommitLog, log_limit_bytes: int) -> None:
        self.writer = writer
        self.log = commit_log
        self.log_limit_bytes = log_limit_bytes
        self.unfolded = False

    def handle(self, message: tuple) -> tuple:
        """Answer one message: ``append`` goes to the log, anything else to SQLite after
        the log was folded (so a truncate, metadata or purge sees every older write)."""
        if message[0] == "append":
            try:
                self.log.append(message[1])
            except OSError as exc:
                return ("error", f"cannot append to the commit log {self.log.path}: {exc}")
            self.unfolded = True
            return ("ok", 0, 0)
        if not self.compact():
            return ("error", f"cannot fold the commit log of {self.writer.store.path} before "
                             "this commit (see the writer's log)")
        return self.writer.commit(message)

    def compact(self) -> bool:
        """Fold the log into SQLite; False (logged, log kept for a retry) on failure."""
        if not self.unfolded:
            return True
        self.log.seal()
        try:
            fold_log(self.writer, self.log.bucket_dir)
        except (StorageError, sqlite3.Error, OSError) as exc:
            log.error("compaction of %s failed: %s; the log is kept and folded later",
                      self.log.bucket_dir, exc)
            return False
        self.unfolded = False
        return True


def _readable(sock: socket.socket, timeout: float) -> bool:
    """Return True if a message (or end of stream) arrives within ``timeout`` seconds."""
    readable, _, _ = select.select([sock], [], [], timeout)
    return bool(readable)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``PATH SOCKET_FD LOCK_FD [COMPACT_IDLE_S LOG_LIMIT_BYTES]`` (the lock
    descriptor is only held open)."""
    args = argv if argv is not None else sys.argv[1:]
    path, sock_fd, _lock_fd = args[:3]
    tuning = (float(args[3]), int(args[4])) if len(args) >= 5 else ()
    logging.basicConfig(level=logging.WARNING, format="cbserver writer: %(message)s")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    with socket.socket(fileno=int(sock_fd)) as sock:
        try:
            return serve(sock, Path(path), *tuning)
        except WireClosed:
            return 0


if __name__ == "__main__":
    sys.exit(main())
