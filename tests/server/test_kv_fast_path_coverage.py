"""The fast path really serves the commonest requests: a pipelined window of GET-family
hits and plain SETs never reaches the full path, while a miss does.

The replies of both paths are byte-for-byte equal (test_kv_fast_path.py), so only a
count of full-path requests shows that the fast path stopped serving a request kind.
The protocol runs in-process on a real Server; its transport keeps the bytes written.
"""
from __future__ import annotations

import pytest
from couchbase.protocol import FrameDecoder, Opcode, Status, encode_request
from couchbase.protocol.extras import pack_store

from cbserver.kv.connection import KVProtocol
from cbserver.server import Server, ServerConfig

#: Every test runs once with the C and once with the Python fast path serving.
pytestmark = pytest.mark.usefixtures("fast_path_implementation")


class BufferTransport:
    """The transport surface KVProtocol uses, keeping every byte it writes."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 0) if name == "peername" else default

    def close(self) -> None:
        self.closed = True


class CountingProtocol(KVProtocol):
    """The server's KV protocol, noting the opcode of every request the full path serves."""

    full_path: list[int]

    def _serve(self, frame, out):
        self.full_path.append(frame.opcode)
        return super()._serve(frame, out)


def serving() -> tuple[CountingProtocol, BufferTransport, list[int]]:
    """A counting protocol on a fresh ephemeral server, connected to a buffer transport."""
    protocol = CountingProtocol(Server(ServerConfig(vbuckets=1, ephemeral=True)))
    protocol.full_path = []
    transport = BufferTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport, protocol.full_path


def replies(transport: BufferTransport) -> list:
    decoder = FrameDecoder()
    decoder.feed(bytes(transport.written))
    return list(decoder)


def test_a_window_of_hits_and_plain_sets_never_takes_the_full_path():
    protocol, transport, full_path = serving()
    extras = pack_store(3, 0)
    window = b"".join(encode_request(opcode, b"k%d" % n, extras, b"v%d" % n, opaque=n)
                      for n, opcode in enumerate([Opcode.SET] * 4 + [Opcode.SETQ] * 4))
    window += b"".join(encode_request(opcode, b"k%d" % n, opaque=100 + n)
                       for n, opcode in enumerate([Opcode.GET, Opcode.GETQ, Opcode.GETK,
                                                   Opcode.GETKQ] * 2))
    protocol.data_received(window)
    assert full_path == []
    answered = replies(transport)
    assert [frame.opaque for frame in answered] == [0, 1, 2, 3, 100, 101, 102, 103, 104, 105,
                                                    106, 107]
    assert all(frame.status == Status.SUCCESS for frame in answered)
    assert [frame.value for frame in answered[4:]] == [b"v%d" % n for n in range(8)]


def test_a_miss_in_the_window_takes_the_full_path_for_that_request_only():
    protocol, transport, full_path = serving()
    protocol.data_received(encode_request(Opcode.SET, b"here", pack_store(0, 0), b"x", opaque=1)
                           + encode_request(Opcode.GET, b"absent", opaque=2)
                           + encode_request(Opcode.GET, b"here", opaque=3))
    assert full_path == [Opcode.GET]
    assert [(frame.opaque, frame.status) for frame in replies(transport)] == [
        (1, Status.SUCCESS), (2, Status.KEY_ENOENT), (3, Status.SUCCESS)]
