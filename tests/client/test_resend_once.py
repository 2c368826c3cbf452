"""The resend-once rule of the single-op path: with no liveness check before a send,
a connection the node closed while idle is found dead by the op itself, which is
sent again on a new connection exactly when the node provably never got it (send
error, reset, or EOF plus the reset a closed socket answers data with, before any
reply byte). A node that read the request and then closed may have applied it: that
op fails with a network error and is not sent again.

The nodes here are real sockets speaking the binary protocol from a thread, each
connection scripted; the client bootstraps from a real streaming-config server."""
from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable

import pytest

from support.config_server import ConfigServer, make_config
from couchbase import Couchbase
from couchbase.exceptions import NetworkError
from couchbase.protocol import FrameDecoder, Opcode, encode_response

#: What a scripted connection does: gets the socket, the node and its 0-based index.
Script = Callable[[socket.socket, "ScriptedNode", int], None]


class ScriptedNode:
    """A KV listener on a free loopback port whose n-th accepted connection runs
    ``scripts[n]`` (the last script for any later one); logs every request read."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.requests: list[tuple[int, int, bytes]] = []
        self.accepted = 0
        self.closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            index = self.accepted
            self.accepted += 1
            script = self.scripts[min(index, len(self.scripts) - 1)]
            threading.Thread(target=self._run, args=(script, conn, index), daemon=True).start()

    def _run(self, script: Script, conn: socket.socket, index: int) -> None:
        with conn:
            script(conn, self, index)

    def read_request(self, conn: socket.socket, index: int, decoder: FrameDecoder):
        """The next request on ``conn`` (logged), or None at EOF."""
        while True:
            frame = decoder.next_frame()
            if frame is not None:
                self.requests.append((index, frame.opcode, frame.key))
                return frame
            data = conn.recv(65536)
            if not data:
                return None
            decoder.feed(data)

    def close(self) -> None:
        self._listener.close()


def answer_all(conn: socket.socket, node: ScriptedNode, index: int) -> None:
    """Answer every request: stores succeed, INCREMENT counts from 1."""
    decoder = FrameDecoder()
    while (frame := node.read_request(conn, index, decoder)) is not None:
        value = struct.pack(">Q", 1) if frame.opcode == Opcode.INCREMENT else b""
        conn.sendall(encode_response(frame.opcode, value=value, opaque=frame.opaque,
                                     cas=1000 + len(node.requests)))


def answer_one_then_close(conn: socket.socket, node: ScriptedNode, index: int) -> None:
    """Answer one request, then close the idle connection (a restart, as seen by it)."""
    decoder = FrameDecoder()
    frame = node.read_request(conn, index, decoder)
    conn.sendall(encode_response(frame.opcode, opaque=frame.opaque, cas=7))
    conn.close()
    node.closed.set()


def read_then_close(conn: socket.socket, node: ScriptedNode, index: int) -> None:
    """Read a request and close without answering: it may have been applied."""
    node.read_request(conn, index, FrameDecoder())
    conn.close()
    node.closed.set()


def answer_one_then_close_unread(conn: socket.socket, node: ScriptedNode, index: int) -> None:
    """Answer one request, wait for the next to arrive and close without reading it
    (the kernel resets the connection: that request was never seen)."""
    decoder = FrameDecoder()
    frame = node.read_request(conn, index, decoder)
    conn.sendall(encode_response(frame.opcode, opaque=frame.opaque, cas=7))
    select.select([conn], [], [], 10)
    conn.close()
    node.closed.set()


@pytest.fixture
def connect():
    """``connect(node)``: a client of a one-node bucket served by ``node``."""
    opened: list[tuple[ScriptedNode, ConfigServer]] = []

    def _connect(node: ScriptedNode) -> Couchbase:
        stream = ConfigServer(make_config("default", [node.port], [[0]] * 16, 1))
        opened.append((node, stream))
        return Couchbase.connect(bucket="default", host="127.0.0.1", port=stream.port,
                                 timeout=5.0)

    yield _connect
    for node, stream in opened:
        stream.close()
        node.close()


def _wait_closed(node: ScriptedNode) -> None:
    assert node.closed.wait(10), "the scripted node never closed its connection"
    time.sleep(0.05)


def test_request_after_an_idle_close_is_sent_once_more(connect):
    node = ScriptedNode([answer_one_then_close, answer_all])
    cb = connect(node)
    assert cb.set("before", "x").cas == 7
    _wait_closed(node)
    assert cb.incr("counter", initial=1).value == 1
    assert node.accepted == 2
    assert node.requests == [(0, Opcode.SET, b"before"), (1, Opcode.INCREMENT, b"counter")]


def test_request_a_node_reset_unread_is_sent_once_more(connect):
    node = ScriptedNode([answer_one_then_close_unread, answer_all])
    cb = connect(node)
    assert cb.set("before", "x").cas == 7
    result = cb.set("after", "y")
    assert result.success
    assert node.closed.is_set()
    assert node.accepted == 2
    assert node.requests == [(0, Opcode.SET, b"before"), (1, Opcode.SET, b"after")]


def test_request_read_before_the_close_is_not_resent(connect):
    node = ScriptedNode([read_then_close, answer_all])
    cb = connect(node)
    with pytest.raises(NetworkError) as info:
        cb.incr("counter", initial=1)
    assert info.value.key == "counter"
    assert node.requests == [(0, Opcode.INCREMENT, b"counter")]
    assert node.accepted == 1
    assert cb.incr("counter", initial=1).value == 1
    assert node.accepted == 2


def test_a_second_dead_connection_is_not_resent_again(connect):
    node = ScriptedNode([answer_one_then_close, read_then_close, answer_all])
    cb = connect(node)
    cb.set("before", "x")
    _wait_closed(node)
    node.closed.clear()
    with pytest.raises(NetworkError):
        cb.set("after", "y")
    assert node.requests == [(0, Opcode.SET, b"before"), (1, Opcode.SET, b"after")]
    assert node.accepted == 2


def test_cbserver_restarted_between_two_ops(server_factory):
    """The first op after the restart already succeeds: no error, no retry loop."""
    first = server_factory()
    ports = {"rest_port": first.rest_port, "kv_port": first.kv_port,
             "views_port": first.views_port}
    cb = Couchbase.connect(bucket="default", host=first.host, port=first.rest_port)
    assert cb.set("restart-kept", 1).success
    first.stop()
    server_factory(**ports)
    assert cb.set("restart-kept", 2).success
    assert cb.get("restart-kept").value == 2
