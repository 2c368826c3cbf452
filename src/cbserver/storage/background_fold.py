"""Folding sealed commit log segments into SQLite on a thread, while appends go on.

The writer process seals its segment when the log reaches its limit (or after a quiet
spell) and hands the sealed segments to a :class:`BackgroundFold`; its thread folds them
through a SQLite connection of its own while the main loop keeps appending to a fresh
segment. Segments are deleted only after the fold committed, and folding is idempotent
(rows are replaced by key with the record's value, CAS and seqno), so a crash during a
fold leaves segments that the next start folds again into the same table.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .batch_writer import BatchWriter
from .errors import StorageError
from .log_compaction import fold_segments
from .store import BucketStore

log = logging.getLogger("cbserver.storage")


class BackgroundFold:
    """One fold thread for one bucket database; at most one fold runs at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cbserver-fold")
        self._writer: BatchWriter | None = None
        self._running: Future | None = None
        self._segments: list[Path] = []
        self._ended_r, self._ended_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def fileno(self) -> int:
        """Return a descriptor that turns readable when a fold ends (for ``select``)."""
        return self._ended_r

    @property
    def busy(self) -> bool:
        """Return True while a fold is running or its outcome was not collected yet."""
        return self._running is not None

    @property
    def done(self) -> bool:
        """Return True if a fold finished and its outcome waits for :meth:`wait`."""
        return self._running is not None and self._running.done()

    def start(self, segments: list[Path], written_here: Collection[Path] = ()) -> None:
        """Fold ``segments`` (sealed, oldest first; ``written_here`` as for
        :func:`.log_compaction.fold_segments`) on the thread; one fold at a time."""
        if self._running is not None:
            raise RuntimeError(f"a fold of {self.path} is already running")
        self._segments = segments
        self._running = self._executor.submit(self._fold, segments, written_here)
        self._running.add_done_callback(self._signal_end)

    def wait(self) -> bool:
        """Wait for the running fold, if any; False (logged, segments kept) if it failed."""
        running, self._running = self._running, None
        if running is None:
            return True
        self._drain()
        try:
            entries = running.result()
        except (StorageError, sqlite3.Error, OSError) as exc:
            log.error("background compaction of %s (%s) failed: %s; the segments are kept "
                      "and folded later", self.path, ", ".join(p.name for p in self._segments),
                      exc)
            return False
        log.debug("%s: background fold of %d entries done", self.path, entries)
        return True

    def close(self) -> None:
        """Wait for the running fold, close the thread's connection and end the thread."""
        self.wait()
        self._executor.submit(self._close_store).result()
        self._executor.shutdown()
        os.close(self._ended_r)
        os.close(self._ended_w)

    def _fold(self, segments: list[Path], written_here: Collection[Path]) -> int:
        if self._writer is None:
            self._writer = BatchWriter(BucketStore.open(self.path, check=False))
        else:
            self._writer.reload_counters()
        return fold_segments(self._writer, segments, written_here)

    def _signal_end(self, _: Future) -> None:
        os.write(self._ended_w, b"\0")

    def _drain(self) -> None:
        try:
            while os.read(self._ended_r, 64):
                pass
        except BlockingIOError:
            pass

    def _close_store(self) -> None:
        if self._writer is not None:
            self._writer.store.close(checkpoint=False)
            self._writer = None
