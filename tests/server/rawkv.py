"""A minimal blocking binary-protocol client for the server tests, built on the protocol core."""
from __future__ import annotations

import itertools
import os
import socket

from couchbase.protocol import FrameDecoder, Opcode, encode_request, vbucket_for_key
from couchbase.protocol.extras import pack_arithmetic, pack_store, pack_u32
from couchbase.protocol.frames import Frame

_counter = itertools.count()


def unique_key(prefix: str = "key") -> bytes:
    """A key no other test of this run uses (the shared server outlives each test)."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}".encode()


class KV:
    """One TCP connection speaking the binary protocol; requests set the vBucket of the key."""

    def __init__(self, port: int, host: str = "127.0.0.1", num_vbuckets: int = 1024,
                 timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = FrameDecoder(max_body=1 << 30)
        self.num_vbuckets = num_vbuckets
        self.opaque = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "KV":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def encode(self, opcode: int, key: bytes = b"", extras: bytes = b"", value: bytes = b"",
               cas: int = 0, vbucket: int | None = None, opaque: int | None = None,
               datatype: int = 0) -> bytes:
        if opaque is None:
            self.opaque += 1
            opaque = self.opaque
        if vbucket is None:
            vbucket = vbucket_for_key(key, self.num_vbuckets) if key else 0
        return encode_request(opcode, key, extras, value, vbucket=vbucket, opaque=opaque, cas=cas,
                              datatype=datatype)

    def send(self, *args, **kwargs) -> None:
        self.sock.sendall(self.encode(*args, **kwargs))

    def recv(self) -> Frame:
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                return frame
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            self.decoder.feed(data)

    def request(self, *args, **kwargs) -> Frame:
        self.send(*args, **kwargs)
        return self.recv()

    def is_closed(self) -> bool:
        """True once the server has closed this connection (waits for EOF or a reset)."""
        try:
            return self.sock.recv(1 << 16) == b""
        except (ConnectionResetError, socket.timeout):
            return True

    # conveniences -------------------------------------------------------------------

    def set(self, key: bytes, value: bytes, flags: int = 0, exp: int = 0, cas: int = 0,
            opcode: int = Opcode.SET) -> Frame:
        return self.request(opcode, key, pack_store(flags, exp), value, cas=cas)

    def get(self, key: bytes, opcode: int = Opcode.GET) -> Frame:
        return self.request(opcode, key)

    def delete(self, key: bytes, cas: int = 0) -> Frame:
        return self.request(Opcode.DELETE, key, cas=cas)

    def arith(self, key: bytes, delta: int, initial: int = 0, exp: int = 0,
              opcode: int = Opcode.INCREMENT) -> Frame:
        return self.request(opcode, key, pack_arithmetic(delta, initial, exp))

    def touch(self, key: bytes, exp: int, opcode: int = Opcode.TOUCH) -> Frame:
        return self.request(opcode, key, pack_u32(exp))

    def getl(self, key: bytes, lock: int | None = None) -> Frame:
        return self.request(Opcode.GET_LOCKED, key, pack_u32(lock) if lock is not None else b"")

    def unlock(self, key: bytes, cas: int) -> Frame:
        return self.request(Opcode.UNLOCK_KEY, key, cas=cas)
