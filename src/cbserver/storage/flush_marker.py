"""The durable record of a bucket flush: the bucket seqno at which it emptied the bucket.

A flush is acknowledged to the client at once, but the flusher empties the table only in
its next commit. The marker closes that window: it is written atomically (temp file,
fsync, rename, fsync of the directory) before the flush returns, and warmup ignores every
row whose seqno is not above it, so a crash between the acknowledgement and the commit
cannot bring flushed documents back. Every write after the flush has a higher seqno.
"""
from __future__ import annotations

import os
from pathlib import Path

from .definitions import fsync_directory
from .errors import CorruptStoreError

MARKER_FILE = "flushed-seqno"


def write_flush_marker(bucket_dir: Path, seqno: int) -> None:
    """Durably record that every document up to ``seqno`` was flushed; raises OSError."""
    bucket_dir.mkdir(parents=True, exist_ok=True)
    path = bucket_dir / MARKER_FILE
    temp = path.with_name(MARKER_FILE + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(b"%d\n" % seqno)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_directory(bucket_dir)


def read_flush_marker(bucket_dir: Path) -> int:
    """Return the seqno of the last durable flush, 0 if the bucket was never flushed."""
    path = bucket_dir / MARKER_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return 0
    try:
        return int(raw.strip())
    except ValueError:
        raise CorruptStoreError(path, f"flush marker is damaged ({raw[:40]!r}); it must hold "
                                      "the seqno of the last flush: fix or remove it to start "
                                      "(removing it can bring flushed documents back)") from None
