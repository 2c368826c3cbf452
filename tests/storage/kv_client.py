"""A minimal blocking KV client for storage tests, built only on ``couchbase.protocol``."""
from __future__ import annotations

import socket
import time

from couchbase.protocol import Frame, FrameDecoder, ObserveState, Opcode, Status, encode_request
from couchbase.protocol import vbucket_for_key
from couchbase.protocol.extras import (decode_observe_response, encode_observe_request,
                                       pack_store)

NUM_VBUCKETS = 1024


class KV:
    """One connection; ``call`` sends requests pipelined and returns replies in order."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.decoder = FrameDecoder()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def call(self, requests: list[bytes]) -> list[Frame]:
        """Send every request, then read exactly one reply per request."""
        self.sock.sendall(b"".join(requests))
        return [self._next_frame() for _ in requests]

    def stats(self, group: bytes = b"") -> tuple[int, dict[bytes, bytes]]:
        """STAT: read the packets up to the empty terminator; return (status, {name: value})."""
        self.sock.sendall(encode_request(Opcode.STAT, group))
        stats: dict[bytes, bytes] = {}
        while True:
            frame = self._next_frame()
            if frame.status or not frame.key:
                return frame.status, stats
            stats[frame.key] = frame.value

    def _next_frame(self) -> Frame:
        while (frame := self.decoder.next_frame()) is None:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("server closed the connection")
            self.decoder.feed(data)
        return frame

    def set_many(self, docs: dict[bytes, tuple[bytes, int, int]]) -> dict[bytes, Frame]:
        """SET every key to (value, flags, exptime); return the replies by key."""
        keys = list(docs)
        requests = [encode_request(Opcode.SET, key, pack_store(docs[key][1], docs[key][2]),
                                   docs[key][0], vbucket=_vb(key), opaque=i)
                    for i, key in enumerate(keys)]
        return dict(zip(keys, self.call(requests)))

    def get_many(self, keys: list[bytes], opcode: int = Opcode.GET) -> dict[bytes, Frame]:
        """GET (or another keyed read such as GET_META) every key; replies by key."""
        return dict(zip(keys, self.call([encode_request(opcode, key, vbucket=_vb(key))
                                          for key in keys])))

    def delete(self, key: bytes) -> Frame:
        """DELETE one key."""
        return self.call([encode_request(Opcode.DELETE, key, vbucket=_vb(key))])[0]

    def observe(self, keys: list[bytes]) -> dict[bytes, tuple[int, int]]:
        """OBSERVE the keys; return {key: (state, cas)}."""
        body = encode_observe_request([(_vb(key), key) for key in keys])
        reply = self.call([encode_request(Opcode.OBSERVE, value=body)])[0]
        assert reply.status == Status.SUCCESS, reply
        return {key: (state, cas) for _, key, state, cas in decode_observe_response(reply.value)}

    def wait_persisted(self, cas_by_key: dict[bytes, int], timeout: float = 30.0) -> set[bytes]:
        """Poll OBSERVE until each key is persisted with its CAS; return the keys that are."""
        done: set[bytes] = set()
        pending = list(cas_by_key)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for start in range(0, len(pending), 500):
                chunk = pending[start:start + 500]
                for key, (state, cas) in self.observe(chunk).items():
                    if state == ObserveState.PERSISTED and cas == cas_by_key[key]:
                        done.add(key)
            pending = [key for key in pending if key not in done]
            if pending:
                time.sleep(0.02)
        return done


def _vb(key: bytes) -> int:
    return vbucket_for_key(key, NUM_VBUCKETS)
