"""The server's handle on one bucket's writer process (see :mod:`.writer`)."""
from __future__ import annotations

import contextlib
import logging
import select
import socket
import subprocess
import sys
from pathlib import Path

from .writer_wire import WireClosed, encode, receive, send

log = logging.getLogger("cbserver.storage")

STOP_TIMEOUT_S = 60.0


class WriterFailed(Exception):
    """The writer process could not start, or it died; the message says which and why."""


class CommitFailed(Exception):
    """The writer rolled a batch back (SQLite error: full disk, I/O error, ...)."""


class WriterProcess:
    """Starts ``python -m cbserver.storage.writer`` and exchanges messages with it in order.

    Used by one thread (the flusher's). ``lock_fd`` is the data directory's lock, passed
    down so the directory stays locked while the writer lives. A fold may be left
    running (:meth:`request_fold`) while the thread goes on appending to the log; its
    answer is taken with :meth:`fold_result` before the next message.
    """

    def __init__(self, path: Path, lock_fd: int | None) -> None:
        self.path = path
        self._lock_fd = lock_fd
        #: A fold was requested and its answer not taken yet.
        self.folding = False
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None

    @property
    def pid(self) -> int | None:
        """Return the process id of the running writer, if any."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Return True while a started writer is connected."""
        return self._sock is not None

    def start(self) -> None:
        """Spawn the writer and wait until it opened the database; WriterFailed if not."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno()] + ([self._lock_fd] if self._lock_fd is not None else [])
        command = [sys.executable, "-m", "cbserver.storage.writer", str(self.path),
                   str(theirs.fileno()), str(self._lock_fd if self._lock_fd is not None else -1)]
        try:
            self._proc = subprocess.Popen(command, pass_fds=fds, stdin=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            raise WriterFailed(f"cannot start the writer process for {self.path}: {exc}") from None
        finally:
            theirs.close()
        self._sock = ours
        self.folding = False
        try:
            reply = receive(ours)
        except WireClosed:
            self._discard()
            raise WriterFailed(f"writer process for {self.path} exited during start "
                               f"(status {self._proc.returncode})") from None
        if reply[0] != "ready":
            self._discard()
            raise WriterFailed(str(reply[1]))
        log.debug("writer process %d persists %s", reply[1], self.path)

    def commit(self, frame: bytes) -> int:
        """Send one encoded commit message and return the rows it wrote.

        Raises CommitFailed when the writer rolled the batch back and WriterFailed when
        the process is gone (the batch may or may not be on disk; it is sent again).
        """
        self.fold_result()
        self._send(frame)
        return self._receive()[1]

    def request_fold(self, names: list[str], purge_before: int | None = None) -> None:
        """Ask the writer to fold these sealed segments and then, with ``purge_before``,
        to delete the rows expired by then, without waiting for it."""
        self.fold_result()
        self._send(encode(("fold", purge_before, names)))
        self.folding = True

    def fold_ready(self) -> bool:
        """Return True if the requested fold has answered (or the writer is gone)."""
        if not self.folding or self._sock is None:
            return self.folding
        readable, _, _ = select.select([self._sock], [], [], 0)
        return bool(readable)

    def fold_result(self) -> tuple[int, int]:
        """Wait for the requested fold, if any, and return (entries it folded, rows it
        purged).

        Raises CommitFailed if it failed (its segments stay) and WriterFailed when the
        process is gone."""
        if not self.folding:
            return 0, 0
        self.folding = False
        _, entries, purged = self._receive()
        return entries, purged

    def _send(self, frame: bytes) -> None:
        if self._sock is None:
            raise WriterFailed(f"no writer process for {self.path}")
        try:
            self._sock.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            raise self._gone() from None

    def _receive(self) -> tuple:
        """Receive one answer; CommitFailed for an error answer."""
        if self._sock is None:
            raise WriterFailed(f"no writer process for {self.path}")
        try:
            reply = receive(self._sock)
        except (WireClosed, ConnectionResetError):
            raise self._gone() from None
        if reply[0] == "error":
            raise CommitFailed(reply[1])
        return reply

    def _gone(self) -> WriterFailed:
        """Reap a writer that died and return the error to raise."""
        status = self._discard()
        return WriterFailed(f"writer process for {self.path} died (exit status {status})")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the writer to fold its log, checkpoint and close the database, and wait for
        it to exit."""
        if self._sock is None:
            return
        with contextlib.suppress(WireClosed, OSError, CommitFailed, WriterFailed):
            self.fold_result()
        if self._sock is None:
            return
        with contextlib.suppress(WireClosed, OSError):
            send(self._sock, ("stop",))
            receive(self._sock)
        self._discard(timeout)

    def _discard(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Close the connection and reap the process (killed if it does not exit in time)."""
        self.folding = False
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        proc = self._proc
        if proc is None:
            return None
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("writer process %d for %s did not exit within %.0f s; killing it",
                      proc.pid, self.path, timeout)
            proc.kill()
            return proc.wait()
