"""Whatever well-framed or random bytes a client sends, the server answers or closes that
connection, and keeps serving everyone else."""
from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from couchbase.protocol import FrameDecoder, FrameError, Opcode, Status, encode_request
from support.rawkv import KV, unique_key

#: Every test runs once with the C and once with the Python fast path serving.
pytestmark = pytest.mark.usefixtures("fast_path_implementation")

frames = st.builds(
    lambda op, key, extras, value, vb, cas, dt: encode_request(op, key, extras, value, vbucket=vb,
                                                                cas=cas, datatype=dt),
    st.integers(0, 255), st.binary(max_size=300), st.binary(max_size=40), st.binary(max_size=200),
    st.integers(0, 0xFFFF), st.integers(0, 2 ** 64 - 1), st.integers(0, 255))


def _exchange(port: int, payload: bytes) -> None:
    """Send ``payload``, then a NOOP; read until the NOOP reply or the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload + encode_request(Opcode.NOOP, opaque=0xFEEDBEEF))
        decoder = FrameDecoder(max_body=1 << 30)
        while True:
            try:
                data = sock.recv(1 << 16)
            except ConnectionResetError:
                return
            if not data:
                return
            decoder.feed(data)
            try:
                for frame in decoder:
                    assert frame.magic == 0x81
                    if frame.opaque == 0xFEEDBEEF and frame.opcode == Opcode.NOOP:
                        return
            except FrameError as exc:
                raise AssertionError(f"server sent a malformed frame: {exc}") from None


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=5))
def test_random_requests(server_factory_once, batch):
    _exchange(server_factory_once.kv_port, b"".join(batch))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(min_size=1, max_size=200))
def test_random_bytes(server_factory_once, garbage):
    _exchange(server_factory_once.kv_port, garbage)


def test_server_still_serves_after_fuzzing(server_factory_once):
    with KV(server_factory_once.kv_port) as kv:
        key = unique_key()
        assert kv.set(key, b"alive").status == Status.SUCCESS
        assert kv.get(key).value == b"alive"
