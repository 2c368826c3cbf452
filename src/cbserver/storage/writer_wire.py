"""Framing between the flusher and its writer process: length-prefixed ``marshal`` messages.

``marshal`` encodes the tuples, lists, bytes and integers of a message in C, in one
pass, at a fraction of pickle's cost per item; both ends run the same interpreter, so
its version-specific format is no concern. A frame is a 4-byte big-endian length and
the marshalled tuple, whose first element names the message. The batches of writes
themselves do not travel here: the flusher appends them to the commit log, and the
writer reads them from there (:mod:`.log_keeper`).
"""
from __future__ import annotations

import marshal
import socket
import struct
from typing import Any

from .log_record import MARSHAL_VERSION

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = (1 << 32) - 1


class WireClosed(ConnectionError):
    """The other end closed the connection or died."""


def encode(message: tuple) -> bytes:
    """Return ``message`` framed for sending as it is."""
    body = marshal.dumps(message, MARSHAL_VERSION)
    if len(body) > MAX_MESSAGE:
        raise ValueError(f"writer message of {len(body)} bytes exceeds the 4 GiB frame limit")
    return _LENGTH.pack(len(body)) + body


def send(sock: socket.socket, message: tuple) -> None:
    """Send one message; raises WireClosed when the peer is gone."""
    try:
        sock.sendall(encode(message))
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise WireClosed(f"peer closed the connection: {exc}") from None


def receive(sock: socket.socket) -> tuple[Any, ...]:
    """Receive one message; raises WireClosed on end of stream."""
    (length,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    if length == 0:
        raise WireClosed("peer sent a frame of length 0 (the stream is out of step)")
    return marshal.loads(_read_exactly(sock, length))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    """Read ``size`` bytes into one ``bytes`` object: ``MSG_WAITALL`` fills it in one
    call, with no zero-filled buffer and no copy afterwards (a batch is ~100 KB and this
    runs per batch in the writer); a short read (a signal) is topped up."""
    try:
        data = sock.recv(size, socket.MSG_WAITALL)
        if len(data) == size:
            return data
        chunks = [data]
        got = len(data)
        while data and got < size:
            data = sock.recv(size - got, socket.MSG_WAITALL)
            chunks.append(data)
            got += len(data)
    except ConnectionResetError as exc:
        raise WireClosed(f"peer reset the connection: {exc}") from None
    if got < size:
        raise WireClosed("peer closed the connection")
    return b"".join(chunks)
