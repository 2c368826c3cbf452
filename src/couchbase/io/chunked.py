"""Incremental decoder of HTTP/1.1 chunked transfer coding (RFC 9112 7.1). No I/O."""
from __future__ import annotations


class ChunkedError(ValueError):
    """The body is not valid chunked coding."""


class ChunkedDecoder:
    """Feed raw body bytes in any chunking; get the decoded payload bytes back."""

    __slots__ = ("_buf", "_left", "done", "_in_trailer")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._left = 0          # payload bytes still due in the current chunk
        self.done = False
        self._in_trailer = False

    def feed(self, data: bytes) -> bytes:
        """Return the payload bytes that ``data`` completes."""
        self._buf += data
        out = bytearray()
        buf = self._buf
        while not self.done:
            if self._left:
                take = min(self._left, len(buf))
                if not take:
                    break
                out += buf[:take]
                del buf[:take]
                self._left -= take
                if self._left:
                    break
                self._left = -2     # the CRLF after the chunk payload
            if self._left == -2:
                if len(buf) < 2:
                    break
                if buf[:2] != b"\r\n":
                    raise ChunkedError("chunk payload not followed by CRLF")
                del buf[:2]
                self._left = 0
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 4096:
                    raise ChunkedError("chunk size line too long")
                break
            line = bytes(buf[:end])
            del buf[:end + 2]
            if self._in_trailer:
                if not line:
                    self.done = True
                continue
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ChunkedError(f"bad chunk size line {line[:40]!r}") from None
            if size < 0:
                raise ChunkedError(f"bad chunk size line {line[:40]!r}")
            if size == 0:
                self._in_trailer = True
            else:
                self._left = size
        return bytes(out)
