"""Framing between the flusher and its writer process: length-prefixed ``marshal`` messages.

``marshal`` encodes the tuples, lists, bytes and integers of a batch in C, in one pass,
at a fraction of pickle's cost per item; both ends run the same interpreter, so its
version-specific format is no concern. A frame is a 4-byte big-endian length, a kind
byte and the body: ``M`` and a marshalled tuple whose first element names the message,
or ``L`` and a batch payload (:mod:`.log_record`), which the writer appends to its commit
log as it is, without unmarshalling it (received as ``("append", body)``).
"""
from __future__ import annotations

import marshal
import socket
import struct
from typing import Any

from .log_record import MARSHAL_VERSION, encode_batch

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = (1 << 32) - 1
_MESSAGE = b"M"
_APPEND = b"L"


class WireClosed(ConnectionError):
    """The other end closed the connection or died."""


def encode(message: tuple) -> bytes:
    """Return ``message`` framed for sending as it is."""
    return _frame(_MESSAGE, marshal.dumps(message, MARSHAL_VERSION))


def encode_append(seqno: int, entries: list) -> bytes:
    """Return a batch framed as a log append (``entries`` flat, in mutation order)."""
    return _frame(_APPEND, encode_batch(seqno, entries))


def _frame(kind: bytes, body: bytes) -> bytes:
    if len(body) + 1 > MAX_MESSAGE:
        raise ValueError(f"writer message of {len(body)} bytes exceeds the 4 GiB frame limit")
    return _LENGTH.pack(len(body) + 1) + kind + body


def send(sock: socket.socket, message: tuple) -> None:
    """Send one message; raises WireClosed when the peer is gone."""
    try:
        sock.sendall(encode(message))
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise WireClosed(f"peer closed the connection: {exc}") from None


def receive(sock: socket.socket) -> tuple[Any, ...]:
    """Receive one message; raises WireClosed on end of stream."""
    (length,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    frame = _read_exactly(sock, length)
    if frame[:1] == _APPEND:
        return ("append", bytes(frame[1:]))
    return marshal.loads(memoryview(frame)[1:])


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
