"""A blocking binary-protocol test client built only on ``couchbase.protocol``: single
requests for the server tests, pipelined batches for loading data, OBSERVE polling for the
persistence tests."""
from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterable

from couchbase.protocol import (Frame, FrameDecoder, ObserveState, Opcode, Status,
                                encode_request, vbucket_for_key)
from couchbase.protocol.extras import (decode_observe_response, encode_observe_request,
                                       pack_arithmetic, pack_store, pack_u32)
from couchbase.protocol.sasl import plain_message

_counter = itertools.count()
#: Requests per pipelined batch when loading documents.
BATCH = 500


def unique_key(prefix: str = "key") -> bytes:
    """A key no other test of this run uses (shared servers outlive each test)."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}".encode()


def _bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


class KV:
    """One TCP connection speaking the binary protocol; requests carry the key's vBucket.

    With ``bucket`` it authenticates with SASL PLAIN (user = bucket name) first."""

    def __init__(self, port: int, bucket: str | None = None, password: str = "",
                 host: str = "127.0.0.1", num_vbuckets: int = 1024,
                 timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = FrameDecoder(max_body=1 << 30)
        self.num_vbuckets = num_vbuckets
        self.opaque = 0
        if bucket is not None:
            reply = self.request(Opcode.SASL_AUTH, b"PLAIN", value=plain_message(bucket, password))
            if reply.status != Status.SUCCESS:
                self.close()
                raise ConnectionError(f"SASL for bucket {bucket!r} failed: {reply.value!r}")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "KV":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def encode(self, opcode: int, key: bytes = b"", extras: bytes = b"", value: bytes = b"",
               cas: int = 0, vbucket: int | None = None, opaque: int | None = None,
               datatype: int = 0) -> bytes:
        """One request frame; the vBucket defaults to the key's, the opaque to a counter."""
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
        """The next reply frame."""
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

    def call(self, requests: list[bytes]) -> list[Frame]:
        """Send every request pipelined, then read exactly one reply per request."""
        self.sock.sendall(b"".join(requests))
        return [self.recv() for _ in requests]

    def is_closed(self) -> bool:
        """True once the server has closed this connection (waits for EOF or a reset)."""
        try:
            return self.sock.recv(1 << 16) == b""
        except (ConnectionResetError, socket.timeout):
            return True

    # single operations ----------------------------------------------------------------

    def set(self, key: bytes, value: bytes, flags: int = 0, exp: int = 0, cas: int = 0,
            opcode: int = Opcode.SET) -> Frame:
        return self.request(opcode, key, pack_store(flags, exp), value, cas=cas)

    def get(self, key: bytes, opcode: int = Opcode.GET) -> Frame:
        return self.request(opcode, key)

    def delete(self, key: str | bytes, cas: int = 0) -> Frame:
        return self.request(Opcode.DELETE, _bytes(key), cas=cas)

    def arith(self, key: bytes, delta: int, initial: int = 0, exp: int = 0,
              opcode: int = Opcode.INCREMENT) -> Frame:
        return self.request(opcode, key, pack_arithmetic(delta, initial, exp))

    def touch(self, key: bytes, exp: int, opcode: int = Opcode.TOUCH) -> Frame:
        return self.request(opcode, key, pack_u32(exp))

    def getl(self, key: bytes, lock: int | None = None) -> Frame:
        return self.request(Opcode.GET_LOCKED, key, pack_u32(lock) if lock is not None else b"")

    def unlock(self, key: bytes, cas: int) -> Frame:
        return self.request(Opcode.UNLOCK_KEY, key, cas=cas)

    def stats(self, group: bytes = b"") -> tuple[int, dict[bytes, bytes]]:
        """STAT: the packets up to the empty terminator as (status, {name: value})."""
        self.send(Opcode.STAT, group, vbucket=0)
        stats: dict[bytes, bytes] = {}
        while True:
            frame = self.recv()
            if frame.status or not frame.key:
                return frame.status, stats
            stats[frame.key] = frame.value

    # batches --------------------------------------------------------------------------

    def load(self, docs: Iterable[tuple[str | bytes, bytes]], flags: int = 0,
             exp: int = 0) -> None:
        """SET (key, value) pairs in pipelined batches; any failed store fails the test."""
        docs = list(docs)
        for start in range(0, len(docs), BATCH):
            frames = self.call([self.encode(Opcode.SET, _bytes(key), pack_store(flags, exp), value)
                                for key, value in docs[start:start + BATCH]])
            failed = [frame for frame in frames if frame.status != Status.SUCCESS]
            assert not failed, failed[:3]

    def set_many(self, docs: dict[bytes, tuple[bytes, int, int]]) -> dict[bytes, Frame]:
        """SET every key to (value, flags, exptime); the replies by key."""
        keys = list(docs)
        return dict(zip(keys, self.call([
            self.encode(Opcode.SET, key, pack_store(docs[key][1], docs[key][2]), docs[key][0])
            for key in keys])))

    def get_many(self, keys: list[bytes], opcode: int = Opcode.GET) -> dict[bytes, Frame]:
        """GET (or another keyed read such as GET_META) every key; the replies by key."""
        return dict(zip(keys, self.call([self.encode(opcode, key) for key in keys])))

    def observe(self, keys: list[bytes]) -> dict[bytes, tuple[int, int]]:
        """OBSERVE the keys: {key: (state, cas)}."""
        body = encode_observe_request([(vbucket_for_key(key, self.num_vbuckets), key)
                                       for key in keys])
        reply = self.request(Opcode.OBSERVE, value=body, vbucket=0)
        assert reply.status == Status.SUCCESS, reply
        return {key: (state, cas) for _, key, state, cas in decode_observe_response(reply.value)}

    def wait_persisted(self, cas_by_key: dict[bytes, int], timeout: float = 30.0) -> set[bytes]:
        """Poll OBSERVE until each key is persisted with its CAS; the keys that are."""
        done: set[bytes] = set()
        pending = list(cas_by_key)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for start in range(0, len(pending), BATCH):
                for key, (state, cas) in self.observe(pending[start:start + BATCH]).items():
                    if state == ObserveState.PERSISTED and cas == cas_by_key[key]:
                        done.add(key)
            pending = [key for key in pending if key not in done]
            if pending:
                time.sleep(0.02)
        return done
