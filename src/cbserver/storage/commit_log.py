"""The append-only commit log in front of a bucket's SQLite file: ``<bucket dir>/log.<n>``.

A batch is durable once its record is appended and the segment is ``fdatasync``'d, a few
microseconds of CPU instead of one SQLite row upsert per document; compaction
(:mod:`.log_compaction`) later folds the segments into SQLite and deletes them, the way
couchstore appends and compacts. A record is a 4-byte big-endian payload length, the
payload's CRC-32 (4 bytes, :mod:`.checksum`) and the payload: one flusher batch as laid out by
:mod:`.log_record`. A crash in the middle of an append leaves a short or mismatching
record at the very end of the newest segment; it was never acknowledged, so reading drops
it (and truncates the file). A bad record anywhere else is damage, not a crash, and is
refused with :class:`~.errors.CorruptStoreError` naming the file.
"""
from __future__ import annotations

import logging
import mmap
import os
import re
import struct
from collections.abc import Collection, Iterator
from pathlib import Path

from .checksum import crc32
from .definitions import fsync_directory
from .errors import CorruptStoreError

log = logging.getLogger("cbserver.storage")

SEGMENT_PREFIX = "log."
SEGMENT_NAME = re.compile(r"log\.(\d{1,18})")
_HEADER = struct.Struct(">II")
#: The writer folds the log into SQLite after this long without a batch ...
COMPACT_IDLE_S = 0.25
#: ... or once the log holds this many bytes (bounds disk use and replay at warmup).
LOG_LIMIT_BYTES = 128 << 20


def is_segment_name(name: str) -> bool:
    """Return True if ``name`` is a commit log segment's file name."""
    return SEGMENT_NAME.fullmatch(name) is not None


def list_segments(bucket_dir: Path) -> list[Path]:
    """Return the bucket's log segments, oldest first."""
    try:
        names = [entry.name for entry in os.scandir(bucket_dir) if is_segment_name(entry.name)]
    except FileNotFoundError:
        return []
    return [bucket_dir / name for name in sorted(names, key=lambda name: int(name[4:]))]


def read_segments(segments: list[Path], written_here: Collection[Path] = ()
                  ) -> list[tuple[Path, int, memoryview]]:
    """Return ``(segment, offset, payload)`` of every record of ``segments`` in order.

    A torn record at the very end of the last segment is cut off (logged); any other
    bad record raises CorruptStoreError naming the segment and the offset. Segments in
    ``written_here`` (segments the running server sealed whole, see :mod:`.log_keeper`)
    are split by their record headers without computing each checksum again: the server
    wrote and sealed them moments ago, so the check could only find damage done since,
    which SQLite (no page checksums) could not detect in the folded rows either; every
    other segment, above all what a crashed process left, is checked record by record.
    The payloads are views of the segments mapped into memory, not copies: the fold
    reads each record once, straight from the page cache, and the mapping ends with
    the last view.
    """
    records: list[tuple[Path, int, memoryview]] = []
    for index, path in enumerate(segments):
        data = _map(path)
        end = 0
        for offset, payload in iter_records(data, check=path not in written_here):
            records.append((path, offset, payload))
            end = offset + _HEADER.size + len(payload)
        if end == len(data):
            continue
        if index != len(segments) - 1 or not _is_torn_tail(data, end):
            raise CorruptStoreError(path, f"commit log record at byte {end} is damaged (bad "
                                          "length or checksum) and more data follows; move "
                                          "the file away (losing its writes) to start")
        log.warning("%s: dropping a torn record at byte %d (%d bytes; a crash during an "
                    "append, never acknowledged)", path, end, len(data) - end)
        with open(path, "r+b") as handle:
            handle.truncate(end)
            os.fsync(handle.fileno())
    return records


def _map(path: Path) -> bytes | mmap.mmap:
    """Return the segment's bytes as a read-only mapping (an empty one as ``b""``)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if not size:
            return b""
        return mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)


def iter_records(data: bytes | mmap.mmap, check: bool = True
                 ) -> Iterator[tuple[int, memoryview]]:
    """Yield ``(offset, payload)`` of each intact record at the start of ``data`` (the
    payload a view into ``data``, not a copy); stop at the first short or, with
    ``check``, mismatching one."""
    offset = 0
    view = memoryview(data)
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = view[start:start + length]
        if len(payload) < length or (check and crc32(payload) != crc):
            return
        yield offset, payload
        offset = start + length


def _is_torn_tail(data: bytes, end: int) -> bool:
    """Return True if the bad record at ``end`` is the last thing in the file (a crash
    during its append), not damage with intact-looking data behind it."""
    if len(data) - end < _HEADER.size:
        return True
    length, _ = _HEADER.unpack_from(data, end)
    return end + _HEADER.size + length >= len(data)


def remove_segments(segments: list[Path]) -> None:
    """Delete folded segments, oldest first, and make the deletion durable."""
    for path in segments:
        path.unlink(missing_ok=True)
    if segments:
        fsync_directory(segments[0].parent)


class CommitLog:
    """The segment the server's flusher thread appends to; one per bucket directory."""

    def __init__(self, bucket_dir: Path) -> None:
        self.bucket_dir = bucket_dir
        existing = list_segments(bucket_dir)
        self._next = int(existing[-1].name[4:]) + 1 if existing else 1
        self._fd: int | None = None
        self.path: Path | None = None
        self.size = 0
        self._dirty = False

    def append(self, payload: bytes) -> None:
        """Append one record and fdatasync it; raises OSError.

        After a failed append the segment is cut back to its last good record before
        anything else is written, so a failure never leaves damage in the middle.
        """
        if self._fd is None:
            self._open_segment()
        self._cut_back()
        self._dirty = True
        expected = _HEADER.size + len(payload)
        written = os.writev(self._fd, [_HEADER.pack(len(payload), crc32(payload)), payload])
        if written != expected:
            raise OSError(f"short write to {self.path}: {written} of {expected} bytes")
        os.fdatasync(self._fd)
        self._dirty = False
        self.size += written

    def seal(self) -> None:
        """Close the current segment; the next append starts a new one."""
        if self._fd is not None:
            try:
                self._cut_back()
            except OSError as exc:
                log.error("%s: cannot cut a failed append back: %s", self.path, exc)
            os.close(self._fd)
            self._fd = None
            self.path = None
            self.size = 0

    def _cut_back(self) -> None:
        """Drop the bytes of a failed append (raises OSError if that fails too)."""
        if self._dirty:
            os.ftruncate(self._fd, self.size)
            self._dirty = False

    def _open_segment(self) -> None:
        self.path = self.bucket_dir / f"{SEGMENT_PREFIX}{self._next}"
        self._next += 1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fsync_directory(self.bucket_dir)
        self.size = 0
