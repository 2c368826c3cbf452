"""Framing between the flusher and its writer process: length-prefixed ``marshal`` messages.

``marshal`` encodes the tuples, lists, bytes and integers of a batch in C, in one pass,
at a fraction of pickle's cost per item; both ends run the same interpreter, so its
version-specific format is no concern. A message is a 4-byte big-endian length and the
marshalled tuple whose first element names the message.
"""
from __future__ import annotations

import marshal
import socket
import struct
from typing import Any

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = (1 << 32) - 1
#: Version 2 writes no back-references: no hash-table entry per object, about twice as fast
#: for a batch, whose objects are all distinct anyway.
MARSHAL_VERSION = 2


class WireClosed(ConnectionError):
    """The other end closed the connection or died."""


def encode(message: tuple) -> bytes:
    """Return ``message`` framed for :func:`send_frame`."""
    payload = marshal.dumps(message, MARSHAL_VERSION)
    if len(payload) > MAX_MESSAGE:
        raise ValueError(f"writer message of {len(payload)} bytes exceeds the 4 GiB frame limit")
    return _LENGTH.pack(len(payload)) + payload


def send(sock: socket.socket, message: tuple) -> None:
    """Send one message; raises WireClosed when the peer is gone."""
    try:
        sock.sendall(encode(message))
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise WireClosed(f"peer closed the connection: {exc}") from None


def receive(sock: socket.socket) -> tuple[Any, ...]:
    """Receive one message; raises WireClosed on end of stream."""
    (length,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    return marshal.loads(_read_exactly(sock, length))


def _read_exactly(sock: socket.socket, size: int) -> bytes | bytearray:
    if size == 0:
        return b""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        try:
            count = sock.recv_into(view[got:])
        except ConnectionResetError as exc:
            raise WireClosed(f"peer reset the connection: {exc}") from None
        if count == 0:
            raise WireClosed("peer closed the connection")
        got += count
    return buffer
