"""Compaction: fold the commit log's segments into the bucket's SQLite file, then drop them."""
from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from ..gc_pause import gc_paused
from .batch_codec import BatchLayoutError, coalesce
from .batch_writer import BatchWriter
from .commit_log import list_segments, read_segments, remove_segments
from .errors import CorruptStoreError
from .log_record import RecordLayoutError, as_layout3, decode_batch

log = logging.getLogger("cbserver.storage")


def fold_log(writer: BatchWriter, bucket_dir: Path, written_here: Collection[Path] = ()) -> int:
    """Fold every segment of ``bucket_dir`` (none may be open for appends); see
    :func:`fold_segments`."""
    return fold_segments(writer, list_segments(bucket_dir), written_here)


def fold_segments(writer: BatchWriter, segments: list[Path],
                  written_here: Collection[Path] = ()) -> int:
    """Apply the batches of ``segments`` (sealed, oldest first, no older segment left
    unfolded) to SQLite in one transaction, delete them and return the number of log
    entries folded.

    The entries are coalesced in log order (the newest state of a key wins) in one C
    call that makes Python objects only for the rows written, so the table ends equal
    to the logical state. Deleting the segments only after the commit
    makes a crash at any point safe: folding the same records (or a suffix of them, if
    some segments were already gone) again gives the same table. ``written_here`` are
    segments this process sealed whole (see :func:`.commit_log.read_segments`). Raises
    CorruptStoreError for a damaged log or a record of an unknown layout (naming the
    segment), sqlite3.Error or OSError (segments kept).
    """
    if not segments:
        return 0
    with gc_paused():
        entries, keys = _apply_segments(writer, segments, written_here)
    remove_segments(segments)
    log.debug("%s: folded %d log entries (%d keys) from %d segment(s)", segments[0].parent,
              entries, keys, len(segments))
    return entries


def _apply_segments(writer: BatchWriter, segments: list[Path],
                    written_here: Collection[Path]) -> tuple[int, int]:
    """Coalesce the entries of ``segments`` and commit them; return (entries, keys).

    A function of its own so that the rows are freed when it returns, before the
    collector is on again: alive at that point, they would all be traversed by the
    first collection after the fold."""
    records = read_segments(segments, written_here)
    payloads = []
    for path, offset, payload in records:
        try:
            payloads.append(as_layout3(payload))
        except RecordLayoutError as exc:
            raise _unreadable(path, offset, exc) from None
    try:
        folded = coalesce(payloads)
    except BatchLayoutError:
        raise _first_malformed(records) from None
    _, rows = writer.apply_rows(folded.upserts, folded.deletes, folded.max_cas, folded.seqno)
    return folded.entries, rows


def _first_malformed(records: list[tuple[Path, int, memoryview]]) -> CorruptStoreError:
    """Return the error naming the first record of ``records`` that cannot be decoded."""
    for path, offset, payload in records:
        try:
            decode_batch(payload)
        except RecordLayoutError as exc:
            return _unreadable(path, offset, exc)
    return CorruptStoreError(records[0][0], "the commit log cannot be folded")


def _unreadable(path: Path, offset: int, exc: Exception) -> CorruptStoreError:
    return CorruptStoreError(path, f"commit log record at byte {offset} cannot be read: "
                                   f"{exc}; it was written by another version or is damaged")
