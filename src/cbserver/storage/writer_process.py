"""The server's handle on one bucket's writer process (see :mod:`.writer`)."""
from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
from pathlib import Path

from .writer_wire import WireClosed, receive, send

log = logging.getLogger("cbserver.storage")

STOP_TIMEOUT_S = 60.0


class WriterFailed(Exception):
    """The writer process could not start, or it died; the message says which and why."""


class CommitFailed(Exception):
    """The writer rolled a batch back (SQLite error: full disk, I/O error, ...)."""


class WriterProcess:
    """Starts ``python -m cbserver.storage.writer`` and exchanges batches with it in order.

    Used by one thread (the flusher's). ``lock_fd`` is the data directory's lock, passed
    down so the directory stays locked while the writer lives.
    """

    def __init__(self, path: Path, lock_fd: int | None, *, compact_idle_s: float,
                 log_limit_bytes: int) -> None:
        self.path = path
        self._lock_fd = lock_fd
        self._tuning = [repr(float(compact_idle_s)), str(int(log_limit_bytes))]
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
                   str(theirs.fileno()), str(self._lock_fd if self._lock_fd is not None else -1),
                   *self._tuning]
        try:
            self._proc = subprocess.Popen(command, pass_fds=fds, stdin=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            raise WriterFailed(f"cannot start the writer process for {self.path}: {exc}") from None
        finally:
            theirs.close()
        self._sock = ours
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

    def commit(self, frame: bytes) -> tuple[int, int]:
        """Send one encoded commit message and return (rows the pager purged, rows written).

        Raises CommitFailed when the writer rolled the batch back and WriterFailed when
        the process is gone (the batch may or may not be on disk; it is sent again).
        """
        if self._sock is None:
            raise WriterFailed(f"no writer process for {self.path}")
        try:
            self._sock.sendall(frame)
            reply = receive(self._sock)
        except (WireClosed, BrokenPipeError, ConnectionResetError):
            status = self._discard()
            raise WriterFailed(f"writer process for {self.path} died (exit status "
                               f"{status})") from None
        if reply[0] == "error":
            raise CommitFailed(reply[1])
        return reply[1], reply[2]

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the writer to fold its log, checkpoint and close the database, and wait for
        it to exit."""
        if self._sock is None:
            return
        with contextlib.suppress(WireClosed, OSError):
            send(self._sock, ("stop",))
            receive(self._sock)
        self._discard(timeout)

    def _discard(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Close the connection and reap the process (killed if it does not exit in time)."""
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
