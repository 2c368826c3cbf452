"""Incremental frame decoder: feed bytes in any chunking, take whole frames out."""
from __future__ import annotations

from collections.abc import Iterator

from .constants import HEADER_LEN, MAX_VALUE_LEN
from .frames import Frame, FrameError, build_frame, parse_header

#: Largest body accepted by default: the biggest item plus generous room for key/extras.
DEFAULT_MAX_BODY = MAX_VALUE_LEN + 64 * 1024


class FrameDecoder:
    """Buffers bytes and yields complete :class:`Frame` objects in arrival order.

    A malformed header or a body longer than ``max_body`` raises :class:`FrameError`;
    the stream is then unusable (the caller should drop the connection).
    ``max_body`` is checked from the header alone, so an absurd length is refused
    before any of its body is buffered.
    """

    __slots__ = ("_buf", "_pos", "max_body", "_broken")

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.max_body = max_body
        self._broken: FrameError | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes."""
        if self._pos and self._pos >= len(self._buf) // 2:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Number of bytes received but not yet returned as frames."""
        return len(self._buf) - self._pos

    def next_frame(self) -> Frame | None:
        """Return the next complete frame, or None if more bytes are needed."""
        if self._broken is not None:
            raise self._broken
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < HEADER_LEN:
            return None
        try:
            magic, opcode, flen, klen, elen, datatype, specific, blen, opaque, cas = \
                parse_header(bytes(buf[pos:pos + HEADER_LEN]))
            if blen > self.max_body:
                raise FrameError(f"body length {blen} exceeds the limit of {self.max_body} bytes")
        except FrameError as exc:
            self._broken = exc
            raise
        end = pos + HEADER_LEN + blen
        if len(buf) < end:
            return None
        body = bytes(buf[pos + HEADER_LEN:end])
        self._pos = end
        return build_frame(magic, opcode, flen, klen, elen, datatype, specific, opaque, cas, body)

    def __iter__(self) -> Iterator[Frame]:
        """Yield every complete frame currently buffered."""
        while True:
            frame = self.next_frame()
            if frame is None:
                return
            yield frame
