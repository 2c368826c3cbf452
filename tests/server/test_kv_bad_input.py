"""Bad input: typed errors for bad requests, closed connections only for broken framing,
and no effect on other connections or on stored data."""
from __future__ import annotations

import socket
import struct

import pytest

from couchbase.protocol import MAX_VALUE_LEN, Opcode, Status, encode_request, vbucket_for_key
from couchbase.protocol.extras import pack_store
from support.rawkv import KV, unique_key

#: Every test runs once with the C and once with the Python fast path serving.
pytestmark = pytest.mark.usefixtures("fast_path_implementation")


def test_key_over_250_bytes_is_einval(kv):
    assert kv.set(b"k" * 251, b"v").status == Status.EINVAL
    assert kv.get(b"k" * 251).status == Status.EINVAL
    assert kv.set(b"k" * 250, b"v").status == Status.SUCCESS


def test_empty_key_is_einval(kv):
    assert kv.set(b"", b"v").status == Status.EINVAL


def test_value_over_20_mib_is_e2big_and_connection_stays(kv):
    key = unique_key()
    assert kv.set(key, b"x" * (MAX_VALUE_LEN + 1)).status == Status.E2BIG
    assert kv.set(key, b"x" * MAX_VALUE_LEN).status == Status.SUCCESS
    assert len(kv.get(key).value) == MAX_VALUE_LEN
    assert kv.request(Opcode.APPEND, key, value=b"y").status == Status.E2BIG
    assert kv.set(key, b"x" * (MAX_VALUE_LEN + 5_000_000)).status == Status.E2BIG
    assert kv.request(Opcode.NOOP).status == Status.SUCCESS


@pytest.mark.parametrize("opcode", [0x7F, 0x42, 0xFF, Opcode.SUBDOC_MULTI_LOOKUP])
def test_unknown_opcode_keeps_connection_usable(kv, opcode):
    reply = kv.request(opcode, b"some-key")
    assert reply.status == Status.UNKNOWN_COMMAND and reply.opcode == opcode
    assert kv.request(Opcode.NOOP).status == Status.SUCCESS


@pytest.mark.parametrize("opcode, extras", [
    (Opcode.SET, b"\0" * 4), (Opcode.INCREMENT, b"\0" * 8), (Opcode.TOUCH, b""),
    (Opcode.GET, b"\0"), (Opcode.GET_LOCKED, b"\0\0"), (Opcode.APPEND, b"\0" * 8),
])
def test_wrong_extras_are_einval(kv, opcode, extras):
    assert kv.request(opcode, unique_key(), extras).status == Status.EINVAL
    assert kv.request(Opcode.NOOP).status == Status.SUCCESS


def test_unnegotiated_snappy_datatype_is_einval(kv):
    reply = kv.request(Opcode.SET, unique_key(), pack_store(0, 0), b"v", datatype=2)
    assert reply.status == Status.EINVAL


def _raw(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _closed(sock: socket.socket) -> bool:
    """Read until the server closes; a hang here would fail the test by timeout."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("garbage", [
    b"\x13\x37" + b"\xff" * 200,
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b" " * 24,
    struct.pack(">BBHBBHIIQ", 0x80, 0, 10, 20, 0, 0, 5, 0, 0),
    struct.pack(">BBHBBHIIQ", 0x80, 0, 0, 0, 0, 0, 0xFFFFFFFF, 0, 0),
    struct.pack(">BBHBBHIIQ", 0x81, 0, 0, 0, 0, 0, 0, 0, 0),
    # A whole SET frame whose extras and key overrun its body (the fast path's own check).
    struct.pack(">BBHBBHIIQ", 0x80, 1, 10, 8, 0, 0, 12, 0, 0) + b"\x00" * 12,
])
def test_broken_framing_closes_only_that_connection(server, garbage):
    key = unique_key()
    with KV(server.kv_port) as other:
        other.set(key, b"kept")
        bad = _raw(server.kv_port)
        bad.sendall(garbage)
        assert _closed(bad)
        bad.close()
        assert other.get(key).value == b"kept"
    with KV(server.kv_port) as fresh:
        assert fresh.get(key).value == b"kept"


def test_replies_before_a_broken_frame_are_still_sent(server):
    sock = _raw(server.kv_port)
    sock.sendall(encode_request(Opcode.NOOP, opaque=77) + b"\x00" * 24)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    assert len(data) == 24 and struct.unpack(">I", data[12:16])[0] == 77


def test_client_that_disconnects_mid_frame_does_not_hurt(server):
    sock = _raw(server.kv_port)
    sock.sendall(encode_request(Opcode.SET, b"half", pack_store(0, 0), b"x" * 1000)[:500])
    sock.close()
    with KV(server.kv_port) as kv:
        assert kv.get(b"half").status == Status.KEY_ENOENT


def test_frames_split_into_single_bytes(server):
    key = unique_key()
    with KV(server.kv_port) as kv:
        kv.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in kv.encode(Opcode.SET, key, pack_store(1, 0), b"slow"):
            kv.sock.send(bytes([byte]))
        assert kv.recv().status == Status.SUCCESS
        assert kv.get(key).value == b"slow"


def test_flexible_framing_request_is_served(kv):
    key = unique_key()
    kv.set(key, b"v")
    frame = encode_request(Opcode.GET, key, vbucket=vbucket_for_key(key, 1024), opaque=5,
                           framing_extras=b"\x00")
    kv.sock.sendall(frame)
    reply = kv.recv()
    assert reply.status == Status.SUCCESS and reply.value == b"v" and reply.opaque == 5
