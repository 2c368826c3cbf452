"""The server's side of the commit log: durable appends here, folds in the writer process.

The flusher thread appends each batch to the open segment and fdatasyncs it (the
durability point: a few microseconds of CPU per batch, without sending the batch to
another process), seals the segment once it reaches the log limit or after a quiet
spell, and keeps one fold of the sealed segments running in the writer process, which
folds them into SQLite and deletes them (:mod:`.writer`) while appends go on into a new
segment. Segments are folded oldest first and only whole, so what is on disk is always
SQLite plus the segments left, in order; a fold that fails leaves its segments for the
next one (after :data:`FOLD_RETRY_S`), and what is left at shutdown or after a crash is
folded when the bucket is opened again. The expiry pager rides on a fold: the open
segment is sealed, and the writer deletes the expired rows once everything appended
before is folded, so appends (the durability of new writes) never wait for a purge.
Used by the flusher's thread only.
"""
from __future__ import annotations

import concurrent.futures
import logging
import time
from pathlib import Path

from .commit_log import CommitLog
from .health import StorageHealth
from .writer_process import CommitFailed, WriterFailed, WriterProcess

log = logging.getLogger("cbserver.storage")

#: Seconds to wait before folding again after a fold failed.
FOLD_RETRY_S = 1.0
#: While a fold runs, an idle flusher looks for its answer this often (seconds).
FOLD_POLL_S = 0.05


class LogKeeper:
    """Appends batches to a bucket's commit log and has the writer fold what is sealed."""

    def __init__(self, bucket_dir: Path, writer: WriterProcess, health: StorageHealth, *,
                 compact_idle_s: float, log_limit_bytes: int) -> None:
        self.log = CommitLog(bucket_dir)
        self.writer = writer
        self._health = health
        self._source = str(bucket_dir)
        self._idle_s = compact_idle_s
        self._limit = log_limit_bytes
        #: Sealed segments not folded yet, oldest first; the first ``_folding`` of them
        #: are what the running fold was asked for.
        self._sealed: list[Path] = []
        self._folding = 0
        self._last_append = 0.0
        self._retry_at = 0.0
        self._failing = False
        #: A purge the pager asked for, not sent yet: (expired before, waiters).
        self._purge: tuple[int, list[concurrent.futures.Future]] | None = None
        #: The purge riding on the running fold, if any.
        self._purging: tuple[int, list[concurrent.futures.Future]] | None = None
        #: Rows the pager deleted on disk since the server started.
        self.purged_items = 0

    def append(self, payload: bytes) -> None:
        """Append one batch record and fdatasync it; raises OSError (nothing half-written
        stays: see :meth:`CommitLog.append`)."""
        self.log.append(payload)
        self._last_append = time.monotonic()

    def request_purge(self, before: int, waiters: list[concurrent.futures.Future]) -> None:
        """Have the writer delete the rows expired by ``before`` once everything appended
        so far is folded, without waiting; each waiter gets the number of rows purged."""
        if self._purge is not None:
            before = max(before, self._purge[0])
            waiters = self._purge[1] + waiters
        self._purge = (before, waiters)

    def handover(self) -> list[str]:
        """Seal the open segment and return the names of every unfolded segment, oldest
        first, for a commit that must see every older write; the running fold is waited
        for first. Call :meth:`handed_over` once that commit succeeded."""
        self._collect()
        self._seal()
        return [path.name for path in self._sealed]

    def handed_over(self) -> None:
        """The writer folded every segment :meth:`handover` named (and deleted them)."""
        self._sealed.clear()
        self._fold_succeeded()

    def due(self) -> bool:
        """Return True if :meth:`tend` has something to do: a fold answered, or segments
        (sealed, or open and quiet for ``compact_idle_s``) or a purge wait for one."""
        if self.writer.folding:
            return self.writer.fold_ready()
        now = time.monotonic()
        if now < self._retry_at:
            return False
        return bool(self._sealed) or self._purge is not None or (
            self.log.size > 0 and now - self._last_append >= self._idle_s)

    def wait_timeout(self) -> float | None:
        """Return how long an idle flusher may sleep before :meth:`due` can turn True
        (None: not before something is appended)."""
        if self.writer.folding:
            return FOLD_POLL_S
        if self._purge is not None:
            return max(0.0, self._retry_at - time.monotonic())
        if not self._sealed and not self.log.size:
            return None
        wake = max(self._retry_at, self._last_append + self._idle_s)
        return max(0.0, wake - time.monotonic())

    def tend(self) -> None:
        """Take a finished fold's answer, seal a full (or quiet) segment and start the
        next fold; a writer that died is left for the flusher to replace."""
        try:
            if self.writer.folding:
                if not self.writer.fold_ready():
                    if self.log.size >= self._limit:
                        self._seal()
                    return
                self._collect()
            if self.log.size >= self._limit or (self.log.size and (
                    self._purge is not None
                    or time.monotonic() - self._last_append >= self._idle_s)):
                self._seal()
            if ((self._sealed or self._purge is not None) and self.writer.running
                    and time.monotonic() >= self._retry_at):
                self._request_fold()
        except WriterFailed as exc:
            log.warning("%s: %s; a new writer folds the log", self._source, exc)

    def fold_all(self) -> None:
        """At shutdown: seal and fold everything; on failure the segments stay on disk and
        are folded when the bucket is opened again (nothing is lost either way)."""
        try:
            self._collect()
            self._seal()
            if (self._sealed or self._purge is not None) and self.writer.running:
                self._request_fold()
                self._collect()
        except WriterFailed as exc:
            log.warning("%s: %s; the log is folded at the next start", self._source, exc)
        finally:
            self.log.seal()
            for purge in (self._purging, self._purge):
                for waiter in purge[1] if purge is not None else ():
                    waiter.set_exception(RuntimeError(
                        f"{self._source}: storage stopped before the expiry purge ran"))
            self._purge = self._purging = None

    def _seal(self) -> None:
        path = self.log.path
        if path is not None:
            self.log.seal()
            self._sealed.append(path)

    def _request_fold(self) -> None:
        """Start a fold of every sealed segment, with the pending purge if there is one."""
        purge = self._purge
        self.writer.request_fold([path.name for path in self._sealed],
                                 None if purge is None else purge[0])
        self._folding = len(self._sealed)
        self._purge, self._purging = None, purge

    def _collect(self) -> None:
        """Take the running fold's answer: its segments are gone, or kept for a retry (a
        purge riding on it is tried again with the next fold)."""
        if not self.writer.folding:
            return
        folding, self._folding = self._folding, 0
        purging, self._purging = self._purging, None
        try:
            _, purged = self.writer.fold_result()
        except WriterFailed:
            self._retry_purge(purging)
            raise
        except CommitFailed as exc:
            self._retry_purge(purging)
            self._retry_at = time.monotonic() + FOLD_RETRY_S
            self._failing = True
            self._health.error(self._source, f"cannot fold the commit log into the database: "
                                             f"{exc}; the writes are durable in the log, which "
                                             "keeps growing until a fold succeeds")
            return
        del self._sealed[:folding]
        self.purged_items += purged
        for waiter in purging[1] if purging is not None else ():
            waiter.set_result(purged)
        self._fold_succeeded()

    def _retry_purge(self, purging: tuple[int, list[concurrent.futures.Future]] | None) -> None:
        """Put the purge of a fold that failed back in front, for the next fold."""
        if purging is not None:
            self.request_purge(*purging)

    def _fold_succeeded(self) -> None:
        if self._failing:
            self._failing = False
            self._health.resolve(self._source)
