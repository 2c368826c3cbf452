"""Compaction: fold the commit log's segments into the bucket's SQLite file, then drop them."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .batch_writer import BatchWriter
from .commit_log import list_segments, read_segments, remove_segments
from .errors import CorruptStoreError
from .log_record import RecordLayoutError, decode_batch, pairs

log = logging.getLogger("cbserver.storage")


def fold_log(writer: BatchWriter, bucket_dir: Path) -> int:
    """Fold every segment of ``bucket_dir`` (none may be open for appends); see
    :func:`fold_segments`."""
    return fold_segments(writer, list_segments(bucket_dir))


def fold_segments(writer: BatchWriter, segments: list[Path]) -> int:
    """Apply the batches of ``segments`` (sealed, oldest first, no older segment left
    unfolded) to SQLite in one transaction, delete them and return the number of log
    entries folded.

    The entries are coalesced in log order (the newest state of a key wins), so the
    table ends equal to the logical state. Deleting the segments only after the commit
    makes a crash at any point safe: folding the same records (or a suffix of them, if
    some segments were already gone) again gives the same table. Raises
    CorruptStoreError for a damaged log or a record of an unknown layout (naming the
    segment), sqlite3.Error or OSError (segments kept).
    """
    if not segments:
        return 0
    newest: dict[bytes, Any] = {}
    seqno = 0
    entries = 0
    for path, offset, payload in read_segments(segments):
        try:
            batch_seqno, batch = decode_batch(payload)
        except RecordLayoutError as exc:
            raise CorruptStoreError(path, f"commit log record at byte {offset} cannot be read: "
                                          f"{exc}; it was written by another version or is "
                                          "damaged") from None
        newest.update(pairs(batch))
        seqno = max(seqno, batch_seqno)
        entries += len(batch) // 2
    writer.apply(newest, seqno)
    remove_segments(segments)
    log.debug("%s: folded %d log entries (%d keys) from %d segment(s)", segments[0].parent,
              entries, len(newest), len(segments))
    return entries
