"""The lean batch codec of a client's data path (protocol.md 1.1): one call packs a
request, one call splits every complete response out of a receive buffer into plain
``Reply`` tuples. Same wire format as ``frames``, without per-frame objects, so a
batch of N keys costs O(1) Python calls per key. No I/O."""
from __future__ import annotations

import struct
from typing import NamedTuple

from .constants import HEADER_LEN, Magic
from .decoder import DEFAULT_MAX_BODY
from .frames import FrameError

#: The classic 24-byte header (magic, opcode, key length, extras length, datatype,
#: vBucket or status, body length, opaque, cas); callers may pack requests with it.
HEADER = struct.Struct(">BBHBBHIIQ")
_FLEX_HEADER = struct.Struct(">BBBBBBHIIQ")
_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from
_unpack_flex = _FLEX_HEADER.unpack_from
_RESPONSE = Magic.RESPONSE.value
_ALT_RESPONSE = Magic.ALT_RESPONSE.value
_REQUEST = Magic.REQUEST.value


class Reply(NamedTuple):
    """One server response: what a client needs of it (framing extras dropped)."""

    opcode: int
    status: int
    opaque: int
    cas: int
    extras: bytes
    key: bytes
    value: bytes


_new_reply = tuple.__new__


def pack_request(opcode: int, key: bytes, extras: bytes, value: bytes, vbucket: int,
                 opaque: int, cas: int) -> bytes:
    """Wire bytes of one classic (magic 0x80) request; FrameError for a field out of range."""
    key_len = len(key)
    extras_len = len(extras)
    try:
        header = _pack_header(_REQUEST, opcode, key_len, extras_len, 0, vbucket,
                              extras_len + key_len + len(value), opaque, cas)
    except struct.error as exc:
        raise FrameError(f"field out of range for opcode 0x{opcode:02x} on key {key[:64]!r}: "
                         f"{exc}") from None
    return header + extras + key + value


def split_replies(buf: bytes, pos: int = 0,
                  max_body: int = DEFAULT_MAX_BODY) -> tuple[list[Reply], int]:
    """Every complete response in ``buf`` (bytes) from ``pos`` on, and the offset after
    the last one.

    Raises FrameError on a request or unknown magic, lengths that do not add up, or a
    body over ``max_body``; the stream is unusable after that.
    """
    out: list[Reply] = []
    append = out.append
    end = len(buf)
    while end - pos >= HEADER_LEN:
        magic = buf[pos]
        if magic == _RESPONSE:
            (_, opcode, klen, elen, _, status, blen, opaque, cas) = _unpack_header(buf, pos)
            flen = 0
        elif magic == _ALT_RESPONSE:
            (_, opcode, flen, klen, elen, _, status, blen, opaque, cas) = _unpack_flex(buf, pos)
        else:
            raise FrameError(f"invalid response magic byte 0x{magic:02x} at offset {pos}")
        if blen > max_body:
            raise FrameError(f"body length {blen} exceeds the limit of {max_body} bytes")
        if flen + elen + klen > blen:
            raise FrameError(f"header lengths (framing {flen} + extras {elen} + key {klen}) "
                             f"exceed body length {blen}")
        stop = pos + HEADER_LEN + blen
        if stop > end:
            break
        e0 = pos + HEADER_LEN + flen
        k0 = e0 + elen
        v0 = k0 + klen
        append(_new_reply(Reply, (opcode, status, opaque, cas, buf[e0:k0], buf[k0:v0],
                                  buf[v0:stop])))
        pos = stop
    return out, pos


def first_reply(buf: bytes, max_body: int = DEFAULT_MAX_BODY) -> tuple[Reply | None, int]:
    """The complete classic response at the start of ``buf`` and the offset after it;
    (None, 0) for anything else (incomplete, flexible framing, malformed), which
    ``split_replies`` then handles or rejects. The one-request fast case."""
    if len(buf) < HEADER_LEN or buf[0] != _RESPONSE:
        return None, 0
    (_, opcode, klen, elen, _, status, blen, opaque, cas) = _unpack_header(buf, 0)
    stop = HEADER_LEN + blen
    if stop > len(buf) or elen + klen > blen or blen > max_body:
        return None, 0
    k0 = HEADER_LEN + elen
    v0 = k0 + klen
    return _new_reply(Reply, (opcode, status, opaque, cas, buf[HEADER_LEN:k0], buf[k0:v0],
                              buf[v0:stop])), stop
