"""The plain get_multi fast path (couchbase.io.quietget): same 1.0 results and errors
as the general pipeline, against the real cbserver, real memcached and a real node
socket that never answers."""
from __future__ import annotations

import socket
import threading
import warnings

import pytest

from support.config_server import NUM_VBUCKETS, ConfigServer, make_config
from couchbase import Couchbase, FMT_BYTES, FMT_PICKLE, FMT_UTF8
from couchbase.exceptions import NotFoundError, TimeoutError
from couchbase.io.quietget import encode_quiet_gets
from couchbase.io.rc import Rc
from couchbase.protocol import FrameDecoder, Opcode, encode_response



def test_encoding_is_getq_per_key_then_noop():
    keys = [b"a", b"bb", b"\xc3\xa9"]
    decoder = FrameDecoder()
    decoder.feed(encode_quiet_gets(keys, [1, 2, 3], 0xFFFFFFFC))
    frames = list(decoder)
    assert [f.opcode for f in frames] == [Opcode.GETQ] * 3 + [Opcode.NOOP]
    assert [f.key for f in frames[:3]] == keys
    assert [f.vbucket for f in frames[:3]] == [1, 2, 3]
    assert [f.opaque for f in frames] == [0xFFFFFFFC, 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF]


def test_hits_and_misses_keep_key_order(cb, key_prefix):
    keys = [f"{key_prefix}{i}" for i in range(50)]
    stored = {k: {"n": i} for i, k in enumerate(keys) if i % 3}
    cb.set_multi(stored)
    results = cb.get_multi(tuple(keys), quiet=True)
    assert list(results) == keys
    assert not results.all_ok
    for key in keys:
        if key in stored:
            assert results[key].value == stored[key] and results[key].cas
            assert results[key].rc == 0
        else:
            assert not results[key].success and results[key].value is None
    everything = cb.get_multi([k for k in keys if k in stored])
    assert everything.all_ok and len(everything) == len(stored)


def test_miss_raises_with_every_result(cb, key_prefix):
    cb.set(key_prefix + "here", "v")
    with pytest.raises(NotFoundError) as info:
        cb.get_multi([key_prefix + "here", key_prefix + "gone"])
    assert info.value.key == key_prefix + "gone"
    assert info.value.all_results[key_prefix + "here"].value == "v"


def test_non_json_values_decode_by_their_format(cb, key_prefix):
    cb.set(key_prefix + "u", "text", format=FMT_UTF8)
    cb.set(key_prefix + "b", b"\x00\xff", format=FMT_BYTES)
    cb.set(key_prefix + "p", {1, 2}, format=FMT_PICKLE)
    cb.set(key_prefix + "j", [1])
    results = cb.get_multi([key_prefix + s for s in "ubpj"])
    assert [r.value for r in results.values()] == ["text", b"\x00\xff", {1, 2}, [1]]


def test_duplicates_and_odd_keys_keep_general_rules(cb, key_prefix):
    cb.set(key_prefix + "d", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = cb.get_multi([key_prefix + "d", key_prefix + "d"])
    assert len(results) == 1 and any("duplicate" in str(w.message) for w in caught)
    with pytest.raises(Exception):
        cb.get_multi([key_prefix + "d", ""])


def test_against_memcached_node(cluster, key_prefix):
    cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port)
    keys = [f"{key_prefix}{i}" for i in range(300)]
    cb.set_multi({k: k for k in keys[::2]})
    results = cb.get_multi(keys, quiet=True)
    assert [r.value for r in results.values()] == [k if i % 2 == 0 else None
                                                   for i, k in enumerate(keys)]


class _SilentNode:
    """A real TCP node that answers stores and leaves every other request unanswered."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        decoder = FrameDecoder()
        try:
            while data := conn.recv(65536):
                decoder.feed(data)
                for frame in decoder:
                    if frame.opcode == Opcode.SET:
                        conn.sendall(encode_response(Opcode.SET, opaque=frame.opaque, cas=1))
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for conn in self.conns:
            conn.close()


def test_silent_node_times_out_every_key():
    node = _SilentNode()
    config = ConfigServer(make_config("default", [node.port], [[0]] * NUM_VBUCKETS, 1))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=config.port,
                               timeout=0.3)
        cb.set("opens-the-connection", 1)
        with pytest.raises(TimeoutError) as info:
            cb.get_multi(["a", "b"], quiet=True)
        assert all(r.rc == info.value.rc for r in info.value.all_results.values())
        cb.set("reopens-it", 1)
        found, rc = cb._router.get_quiet([b"a"], 0.2)
        assert found == [None] and rc == Rc.ETIMEDOUT
    finally:
        config.close()
        node.close()


def test_burst_larger_than_socket_buffers(cb, key_prefix):
    keys = [f"{key_prefix}{i:06d}".ljust(240, "k") for i in range(20000)]
    cb.set_multi({k: i for i, k in enumerate(keys[:3000])})
    results = cb.get_multi(keys, quiet=True)
    assert [r.value for r in results.values()] == list(range(3000)) + [None] * 17000
