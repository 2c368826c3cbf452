"""Layouts of the extras and structured values of the commands (protocol.md 1.2, 1.5)."""
from __future__ import annotations

import struct

from .frames import FrameError

STORE = struct.Struct(">II")          # flags, expiration (SET/ADD/REPLACE)
ARITHMETIC = struct.Struct(">QQI")    # delta, initial, expiration (INCR/DECR)
UINT32 = struct.Struct(">I")          # flags in GET replies; TOUCH/GAT/GETL expiry
UINT64 = struct.Struct(">Q")          # counter value in INCR/DECR replies
UINT16 = struct.Struct(">H")
MUTATION_TOKEN = struct.Struct(">QQ")  # vbucket uuid, seqno
GET_META_V1 = struct.Struct(">IIIQ")   # deleted, flags, expiry, seqno
GET_META_V2 = struct.Struct(">IIIQB")  # ... + datatype
_OBS_KEY = struct.Struct(">HH")
_OBS_STATE = struct.Struct(">BQ")


def _unpack(layout: struct.Struct, data: bytes, what: str) -> tuple:
    if len(data) != layout.size:
        raise FrameError(f"{what} extras must be {layout.size} bytes, got {len(data)}")
    return layout.unpack(data)


def pack_store(flags: int, expiry: int) -> bytes:
    return STORE.pack(flags, expiry)


def unpack_store(extras: bytes) -> tuple[int, int]:
    """(flags, expiration) of a SET/ADD/REPLACE request."""
    return _unpack(STORE, extras, "store")


def pack_arithmetic(delta: int, initial: int, expiry: int) -> bytes:
    return ARITHMETIC.pack(delta, initial, expiry)


def unpack_arithmetic(extras: bytes) -> tuple[int, int, int]:
    """(delta, initial, expiration) of an INCR/DECR request."""
    return _unpack(ARITHMETIC, extras, "arithmetic")


def pack_u32(value: int) -> bytes:
    return UINT32.pack(value)


def unpack_u32(extras: bytes, what: str = "4-byte") -> int:
    return _unpack(UINT32, extras, what)[0]


def pack_u64(value: int) -> bytes:
    return UINT64.pack(value)


def unpack_u64(value: bytes, what: str = "8-byte") -> int:
    return _unpack(UINT64, value, what)[0]


def encode_observe_request(keys: list[tuple[int, bytes]]) -> bytes:
    """Value of an OBSERVE request: (vbucket, key) pairs."""
    return b"".join(_OBS_KEY.pack(vb, len(key)) + key for vb, key in keys)


def decode_observe_request(value: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos < len(value):
        if pos + 4 > len(value):
            raise FrameError("truncated OBSERVE key entry")
        vb, klen = _OBS_KEY.unpack_from(value, pos)
        pos += 4
        if pos + klen > len(value):
            raise FrameError("OBSERVE key length runs past the value")
        out.append((vb, bytes(value[pos:pos + klen])))
        pos += klen
    return out


def encode_observe_response(entries: list[tuple[int, bytes, int, int]]) -> bytes:
    """Value of an OBSERVE reply: (vbucket, key, keystate, cas) entries."""
    return b"".join(_OBS_KEY.pack(vb, len(key)) + key + _OBS_STATE.pack(state, cas)
                    for vb, key, state, cas in entries)


def decode_observe_response(value: bytes) -> list[tuple[int, bytes, int, int]]:
    out = []
    pos = 0
    while pos < len(value):
        if pos + 4 > len(value):
            raise FrameError("truncated OBSERVE reply entry")
        vb, klen = _OBS_KEY.unpack_from(value, pos)
        pos += 4
        if pos + klen + _OBS_STATE.size > len(value):
            raise FrameError("OBSERVE reply entry runs past the value")
        key = bytes(value[pos:pos + klen])
        pos += klen
        state, cas = _OBS_STATE.unpack_from(value, pos)
        pos += _OBS_STATE.size
        out.append((vb, key, state, cas))
    return out


def encode_features(features: list[int]) -> bytes:
    """Value of a HELLO request or reply: a list of 16-bit feature codes."""
    return b"".join(UINT16.pack(f) for f in features)


def decode_features(value: bytes) -> list[int]:
    if len(value) % 2:
        raise FrameError("HELLO feature list has an odd number of bytes")
    return [UINT16.unpack_from(value, i)[0] for i in range(0, len(value), 2)]
