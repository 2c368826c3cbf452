"""A pipelining KV load generator on raw sockets (memcaslap keeps one request in flight).

Each connection sends a window of pre-encoded binary-protocol requests (1:1 SET and
GET, 300-byte values) in one write, reads until the whole window of replies is in and
checks every reply header (magic, opcode, status, body length) with a single
``struct`` call, so the generator spends almost nothing per operation and the server is
what gets measured. The same generator drives cbserver and memcached.
"""
from __future__ import annotations

import selectors
import socket
import struct
import time

from couchbase.protocol import Magic, Opcode, encode_request
from couchbase.protocol.extras import pack_store

_PATTERNS = 16
#: Seconds without any reply after which the run fails (a reply of an unexpected size
#: leaves the window incomplete).
REPLY_TIMEOUT = 10.0


def connect(host: str, port: int) -> socket.socket:
    """Open a benchmark connection: TCP with Nagle's delay off, as KV clients run."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_window(sock: socket.socket, data: bytes) -> None:
    """Write a whole window of requests at once, then go back to non-blocking reads."""
    sock.setblocking(True)
    sock.sendall(data)
    sock.setblocking(False)


def _windows(conn_id: int, window: int, keys: int, value: bytes) -> list[bytes]:
    """Pre-encoded request windows, SET and GET of the same key alternating."""
    extras = pack_store(0, 0)
    out = []
    for pattern in range(_PATTERNS):
        parts = []
        for i in range(window // 2):
            key = f"pipe{conn_id:03d}-{(pattern * window // 2 + i) % keys:06d}".encode()
            parts.append(encode_request(Opcode.SET, key, extras, value, opaque=i))
            parts.append(encode_request(Opcode.GET, key, opaque=i))
        out.append(b"".join(parts))
    return out


def _reply_layout(window: int, value_size: int) -> tuple[struct.Struct, tuple[int, ...]]:
    """The layout of a window of successful replies and the header fields it must hold:
    (magic, opcode, status, body length) of each SET reply and each GET hit."""
    set_reply = "BB4xHI12x"
    get_reply = f"BB4xHI12x{4 + value_size}x"
    layout = struct.Struct(">" + (set_reply + get_reply) * (window // 2))
    expected = (Magic.RESPONSE, Opcode.SET, 0, 0,
                Magic.RESPONSE, Opcode.GET, 0, 4 + value_size) * (window // 2)
    return layout, tuple(int(field) for field in expected)


class _Conn:
    """One pipelining connection with its window of replies being received."""

    __slots__ = ("sock", "windows", "next", "buf", "view", "got")

    def __init__(self, host: str, port: int, windows: list[bytes], reply_size: int) -> None:
        self.sock = connect(host, port)
        self.windows = windows
        self.next = 0
        self.buf = bytearray(reply_size)
        self.view = memoryview(self.buf)
        self.got = 0

    def send_window(self) -> None:
        send_window(self.sock, self.windows[self.next])
        self.next = (self.next + 1) % len(self.windows)
        self.got = 0

    def read(self) -> bool:
        """Take what arrived; True once the whole window of replies is in."""
        count = self.sock.recv_into(self.view[self.got:])
        if not count:
            raise ConnectionError("server closed a benchmark connection")
        self.got += count
        return self.got == len(self.buf)


def run(host: str, port: int, *, connections: int, window: int, seconds: float,
        keys: int = 2000, value_size: int = 300) -> float:
    """Pipelined ops/s against ``host:port`` for about ``seconds`` (after a warm-up that
    stores every key, so each GET hits)."""
    value = b"v" * value_size
    layout, expected = _reply_layout(window, value_size)
    conns = [_Conn(host, port, _windows(c, window, keys, value), layout.size)
             for c in range(connections)]
    sel = selectors.DefaultSelector()
    try:
        for conn in conns:
            sel.register(conn.sock, selectors.EVENT_READ, conn)
        check = (layout, expected)
        _drive(sel, conns, check, time.perf_counter() + 0.3, min_rounds=_PATTERNS)
        start = time.perf_counter()
        windows = _drive(sel, conns, check, start + seconds)
        return windows * window / (time.perf_counter() - start)
    finally:
        sel.close()
        for conn in conns:
            conn.sock.close()


def _drive(sel: selectors.BaseSelector, conns: list[_Conn],
           check: tuple[struct.Struct, tuple[int, ...]], deadline: float,
           min_rounds: int = 0) -> int:
    """Keep a window in flight on every connection until ``deadline`` (and at least
    ``min_rounds`` windows each); return the number of windows completed."""
    layout, expected = check
    completed = 0
    rounds = dict.fromkeys(conns, 1)
    for conn in conns:
        conn.send_window()
    busy = len(conns)
    while busy:
        events = sel.select(REPLY_TIMEOUT)
        if not events:
            raise TimeoutError(f"a window of replies stayed incomplete for {REPLY_TIMEOUT} s")
        more = time.perf_counter() < deadline
        for key, _ in events:
            conn = key.data
            if not conn.read():
                continue
            if layout.unpack_from(conn.buf) != expected:
                raise RuntimeError("a benchmark request failed: reply headers differ from "
                                   "the successful SET/GET replies expected")
            completed += 1
            if more or rounds[conn] < min_rounds:
                rounds[conn] += 1
                conn.send_window()
            else:
                busy -= 1
    return completed
