"""The storage writer process of one bucket: makes the flusher's batches durable.

Run by :class:`~.writer_process.WriterProcess` as ``python -m cbserver.storage.writer
PATH SOCKET_FD LOCK_FD [COMPACT_IDLE_S LOG_LIMIT_BYTES]``, on a core of its own instead
of competing with the event loop for one interpreter lock. An ``append`` (a plain batch
of writes and deletes) is appended to the bucket's commit log (:mod:`.commit_log`) and
fdatasync'd before the answer ``("ok", 0, 0)``: that is its durability point. Any other
``commit`` (bucket flush, metadata, expiry purge) first folds the log into SQLite
(:mod:`.log_compaction`) and then commits (``synchronous=FULL``), answering ``("ok",
purged, rows)``. Failures answer ``("error", text)``; the server decides about retries.
After a quiet spell, and whenever the segment reaches the log limit, the segment is
sealed and the sealed segments are folded on a thread of their own
(:mod:`.background_fold`) while appends go on into a new segment; the main loop waits
for that fold only before a commit that needs the whole log folded and at ``stop``. What
a crashed writer left is folded at start. The writer holds the data directory's lock
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

from .background_fold import BackgroundFold
from .batch_writer import BatchWriter
from .commit_log import COMPACT_IDLE_S, LOG_LIMIT_BYTES, CommitLog, list_segments
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
    session = _Session(writer, CommitLog(path.parent), BackgroundFold(path))
    checkpoint_at_close = False
    try:
        while True:
            session.collect()
            event = session.next_event(sock, compact_idle_s)
            if event == "idle":
                session.fold_in_background()
            if event != "message":
                continue
            message = receive(sock)
            if message[0] == "stop":
                session.compact()
                checkpoint_at_close = True
                break
            send(sock, session.handle(message))
            if session.log.size >= log_limit_bytes:
                session.rotate()
    except WireClosed:
        return 0
    finally:
        session.close()
        store.close(checkpoint=checkpoint_at_close)
    send(sock, ("closed",))
    return 0


class _Session:
    """The writer's state between messages: the SQLite batch writer, the commit log and
    the background fold of its sealed segments."""

    def __init__(self, writer: BatchWriter, commit_log: CommitLog, folder: BackgroundFold
                 ) -> None:
        self.writer = writer
        self.log = commit_log
        self.folder = folder
        #: The log holds records that no fold has taken yet.
        self.unfolded = False
        #: The log reached its limit while a fold ran: fold again as soon as it ends.
        self.overflowing = False

    def next_event(self, sock: socket.socket, idle_s: float) -> str:
        """Wait for a ``"message"`` (or end of stream), the end of the running fold
        (``"folded"``) or, with unfolded records and no fold running, ``idle_s`` quiet
        seconds (``"idle"``)."""
        if not self.unfolded and not self.folder.busy:
            return "message"
        timeout = None if self.folder.busy else idle_s
        readable, _, _ = select.select([sock, self.folder], [], [], timeout)
        if sock in readable:
            return "message"
        return "folded" if readable else "idle"

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

    def rotate(self) -> None:
        """Seal the full segment and fold the sealed ones, unless a fold still runs (then
        the next one starts when it ends); appends go on into a new segment."""
        self.log.seal()
        self.overflowing = True
        self.fold_in_background()

    def fold_in_background(self) -> None:
        """Seal the segment and hand every sealed segment to the fold thread, if it is free."""
        if self.folder.busy or not self.unfolded:
            return
        self.log.seal()
        self.folder.start(list_segments(self.log.bucket_dir), self.log.take_sealed())
        self.unfolded = False
        self.overflowing = False

    def collect(self) -> None:
        """Take the outcome of a finished background fold (a failed one leaves its
        segments to the next fold) and start the next fold if the log overflowed."""
        if not self.folder.done:
            return
        if not self.folder.wait():
            self.unfolded = True
        elif self.overflowing:
            self.fold_in_background()

    def compact(self) -> bool:
        """Fold the whole log into SQLite now: wait for a running background fold, then
        fold the rest here; False (logged, log kept for a retry) on failure."""
        if not self.folder.wait():
            self.unfolded = True
        self.writer.reload_counters()
        if not self.unfolded:
            return True
        self.log.seal()
        try:
            fold_log(self.writer, self.log.bucket_dir, self.log.take_sealed())
        except (StorageError, sqlite3.Error, OSError) as exc:
            log.error("compaction of %s failed: %s; the log is kept and folded later",
                      self.log.bucket_dir, exc)
            return False
        self.unfolded = False
        self.overflowing = False
        return True

    def close(self) -> None:
        """Seal the segment and wait for the fold thread to finish and close."""
        self.log.seal()
        self.folder.close()


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
