"""Incremental splitter of a view response body into row texts and meta. No I/O.

A view response is one JSON object such as ``{"total_rows":3,"rows":[{...},{...}],
"errors":[...]}``. :class:`RowStreamSplitter` is fed the body in chunks of any size
and hands back each element of the top-level ``rows`` array as soon as it is
complete, so a client can iterate over a large result while holding only the row
in progress. Everything outside the rows (the *meta*) is kept and parsed at the end
with ``"rows": []`` in place of the array.
"""
from __future__ import annotations

import json
import re
from typing import Any

#: Upper bound on the bytes of one row; a larger one is a broken or hostile stream.
MAX_ROW_BYTES = 64 * 1024 * 1024
#: Upper bound on the bytes outside the rows array.
MAX_META_BYTES = 16 * 1024 * 1024

_STRUCTURAL = re.compile(rb'[\[\]{},"]')
_IN_STRING = re.compile(rb'["\\]')
_WHITESPACE = b" \t\r\n"

_META, _ROWS = 0, 1


class RowStreamError(ValueError):
    """The body is not a well-formed view response."""


class RowStreamSplitter:
    """Feed view-response bytes; get complete row JSON texts; ``finish()`` gives the meta."""

    __slots__ = ("_meta", "_buf", "_pos", "_state", "_depth", "_in_string", "_key_start",
                 "_last_key", "_segment", "_seen_rows", "max_row_bytes", "max_meta_bytes")

    def __init__(self, max_row_bytes: int = MAX_ROW_BYTES,
                 max_meta_bytes: int = MAX_META_BYTES) -> None:
        self._meta = bytearray()     # the body outside the rows array (while in meta)
        self._buf = bytearray()      # unconsumed bytes of the rows array
        self._pos = 0                # scan position in the active buffer
        self._state = _META
        self._depth = 0              # JSON nesting depth, counted from the top object
        self._in_string = False
        self._key_start = -1         # start of a depth-1 string being scanned in meta
        self._last_key = b""         # the last depth-1 string: the key of any "[" that follows
        self._segment = 0            # start of the current rows element in _buf
        self._seen_rows = False
        self.max_row_bytes = max_row_bytes
        self.max_meta_bytes = max_meta_bytes

    def feed(self, data: bytes) -> list[str]:
        """Add body bytes; return the rows they complete, in order, as JSON text."""
        rows: list[str] = []
        if self._state == _META:
            self._meta += data
        else:
            self._buf += data
        while True:
            if self._state == _META:
                if not self._scan_meta():
                    break
            elif not self._scan_rows(rows):
                break
        self._compact()
        return rows

    def finish(self) -> dict[str, Any]:
        """The meta dict once the body has ended; raises if the body was incomplete."""
        if self._state != _META or self._depth or self._in_string:
            raise RowStreamError("view response ended in the middle of its JSON body")
        try:
            meta = json.loads(self._meta.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise RowStreamError(f"view response is not valid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise RowStreamError("view response is not a JSON object")
        return meta

    @property
    def buffered(self) -> int:
        """Bytes held right now (the row in progress plus the meta)."""
        return len(self._buf) + len(self._meta)

    def _scan_meta(self) -> bool:
        """Scan meta bytes; True when the rows array begins (state switched)."""
        meta = self._meta
        pos = self._pos
        while True:
            if self._in_string:
                match = _IN_STRING.search(meta, pos)
                if match is None:
                    self._pos = len(meta)
                    return False
                pos = match.start()
                if meta[pos] == 0x5C:          # backslash: skip the escaped byte
                    if pos + 1 >= len(meta):
                        self._pos = pos
                        return False
                    pos += 2
                    continue
                self._in_string = False
                if self._key_start >= 0:
                    self._last_key = bytes(meta[self._key_start:pos])
                    self._key_start = -1
                pos += 1
                continue
            match = _STRUCTURAL.search(meta, pos)
            if match is None:
                self._pos = len(meta)
                return False
            pos = match.start()
            char = meta[pos]
            if char == 0x22:                   # '"'
                self._in_string = True
                if self._depth == 1:
                    self._key_start = pos + 1
            elif char in b"{[":
                if char == 0x5B and self._depth == 1 and self._last_key == b"rows" \
                        and not self._seen_rows:
                    self._enter_rows(pos)
                    return True
                self._depth += 1
            elif char in b"}]":
                self._depth -= 1
                if self._depth < 0:
                    raise RowStreamError("unbalanced closing bracket in view response")
            pos += 1

    def _enter_rows(self, pos: int) -> None:
        """Move the bytes after ``"rows":[`` to the rows buffer."""
        self._buf = bytearray(self._meta[pos + 1:])
        del self._meta[pos + 1:]
        self._state = _ROWS
        self._seen_rows = True
        self._depth = 2
        self._pos = 0
        self._segment = 0

    def _scan_rows(self, rows: list[str]) -> bool:
        """Scan rows-array bytes, collecting rows; True when the array has ended."""
        buf = self._buf
        pos = self._pos
        depth = self._depth
        while True:
            if self._in_string:
                match = _IN_STRING.search(buf, pos)
                if match is None:
                    pos = len(buf)
                    break
                pos = match.start()
                if buf[pos] == 0x5C:
                    if pos + 1 >= len(buf):
                        break
                    pos += 2
                    continue
                self._in_string = False
                pos += 1
                continue
            match = _STRUCTURAL.search(buf, pos)
            if match is None:
                pos = len(buf)
                break
            pos = match.start()
            char = buf[pos]
            if char == 0x22:
                self._in_string = True
            elif char in b"{[":
                depth += 1
            elif depth > 2:
                if char != 0x2C:                # '}' or ']' closing a nested value
                    depth -= 1
            else:
                self._emit(buf, pos, rows)
                if char == 0x2C:
                    self._segment = pos + 1
                elif char == 0x5D:              # ']' ends the rows array
                    self._leave_rows(pos)
                    return True
                else:
                    raise RowStreamError("unexpected '}' inside the rows array")
            pos += 1
        self._pos = pos
        self._depth = depth
        return False

    def _emit(self, buf: bytearray, end: int, rows: list[str]) -> None:
        """Append the element between the segment start and ``end``, if not blank."""
        text = bytes(buf[self._segment:end]).strip(_WHITESPACE)
        if text:
            try:
                rows.append(text.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise RowStreamError(f"view row is not UTF-8: {exc}") from None

    def _leave_rows(self, pos: int) -> None:
        """Back to meta after the rows array, keeping ``"rows":[]`` in the meta text."""
        self._meta += b"]"
        self._pos = len(self._meta)
        self._meta += self._buf[pos + 1:]
        self._buf = bytearray()
        self._state = _META
        self._depth = 1
        self._segment = 0

    def _compact(self) -> None:
        """Drop consumed rows bytes and enforce the memory bounds."""
        if self._state == _ROWS and self._segment:
            del self._buf[:self._segment]
            self._pos -= self._segment
            self._segment = 0
        if len(self._buf) > self.max_row_bytes:
            raise RowStreamError(f"a view row exceeds {self.max_row_bytes} bytes")
        if len(self._meta) > self.max_meta_bytes:
            raise RowStreamError(f"view response meta exceeds {self.max_meta_bytes} bytes")
