"""Encoding and decoding of single binary-protocol frames (protocol.md 1.1).

A frame is a 24-byte header followed by ``framing extras || extras || key || value``.
Classic magics (0x80-0x83) carry a 16-bit key length; the flexible-framing magics
(0x08/0x18) split that field into framing-extras length and an 8-bit key length.
"""
from __future__ import annotations

import struct

from .constants import FLEX_MAGICS, HEADER_LEN, REQUEST_MAGICS, Magic

HEADER = struct.Struct(">BBHBBHIIQ")
FLEX_HEADER = struct.Struct(">BBBBBBHIIQ")


class FrameError(ValueError):
    """Raised for bytes that are not a valid frame; the codec raises nothing else."""


class Frame:
    """One decoded frame. ``vbucket`` is set for requests, ``status`` for responses."""

    __slots__ = ("magic", "opcode", "datatype", "vbucket", "status", "opaque", "cas",
                 "framing_extras", "extras", "key", "value")

    def __init__(self, magic: int, opcode: int, *, key: bytes = b"", extras: bytes = b"",
                 value: bytes = b"", vbucket: int = 0, status: int = 0, opaque: int = 0,
                 cas: int = 0, datatype: int = 0, framing_extras: bytes = b"") -> None:
        self.magic = magic
        self.opcode = opcode
        self.datatype = datatype
        self.vbucket = vbucket
        self.status = status
        self.opaque = opaque
        self.cas = cas
        self.framing_extras = framing_extras
        self.extras = extras
        self.key = key
        self.value = value

    @property
    def is_request(self) -> bool:
        return self.magic in REQUEST_MAGICS

    def encode(self) -> bytes:
        """Encode back to wire bytes (inverse of :func:`decode_frame`)."""
        specific = self.vbucket if self.is_request else self.status
        return _encode(self.magic, self.opcode, specific, self.key, self.extras, self.value,
                       self.opaque, self.cas, self.datatype, self.framing_extras)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        kind = "vbucket" if self.is_request else "status"
        specific = self.vbucket if self.is_request else self.status
        return (f"Frame(magic=0x{self.magic:02x}, opcode=0x{self.opcode:02x}, {kind}=0x{specific:x}, "
                f"opaque={self.opaque}, cas={self.cas}, key={self.key!r}, extras={self.extras!r}, "
                f"value={self.value[:64]!r}{'...' if len(self.value) > 64 else ''})")


def _encode(magic: int, opcode: int, specific: int, key: bytes, extras: bytes, value: bytes,
            opaque: int, cas: int, datatype: int, framing_extras: bytes) -> bytes:
    body_len = len(framing_extras) + len(extras) + len(key) + len(value)
    try:
        if magic in FLEX_MAGICS:
            header = FLEX_HEADER.pack(magic, opcode, len(framing_extras), len(key), len(extras),
                                      datatype, specific, body_len, opaque, cas)
        else:
            if framing_extras:
                raise FrameError("framing extras need a flexible-framing magic (0x08/0x18)")
            header = HEADER.pack(magic, opcode, len(key), len(extras), datatype, specific,
                                 body_len, opaque, cas)
    except struct.error as exc:
        raise FrameError(f"field out of range for opcode 0x{opcode:02x}: {exc}") from None
    return b"".join((header, framing_extras, extras, key, value))


def encode_request(opcode: int, key: bytes = b"", extras: bytes = b"", value: bytes = b"", *,
                   vbucket: int = 0, opaque: int = 0, cas: int = 0, datatype: int = 0,
                   framing_extras: bytes = b"") -> bytes:
    """Encode a client request (magic 0x80, or 0x08 when framing extras are given)."""
    magic = Magic.ALT_REQUEST if framing_extras else Magic.REQUEST
    return _encode(magic, opcode, vbucket, key, extras, value, opaque, cas, datatype, framing_extras)


def encode_response(opcode: int, status: int = 0, key: bytes = b"", extras: bytes = b"",
                    value: bytes = b"", *, opaque: int = 0, cas: int = 0, datatype: int = 0,
                    framing_extras: bytes = b"") -> bytes:
    """Encode a server response (magic 0x81, or 0x18 when framing extras are given)."""
    magic = Magic.ALT_RESPONSE if framing_extras else Magic.RESPONSE
    return _encode(magic, opcode, status, key, extras, value, opaque, cas, datatype, framing_extras)


def parse_header(header: bytes) -> tuple[int, int, int, int, int, int, int, int, int, int]:
    """Parse 24 header bytes into (magic, opcode, framing_len, key_len, extras_len,
    datatype, vbucket_or_status, body_len, opaque, cas), validating the lengths."""
    magic = header[0]
    if magic in FLEX_MAGICS:
        (magic, opcode, framing_len, key_len, extras_len, datatype, specific, body_len,
         opaque, cas) = FLEX_HEADER.unpack_from(header)
    elif magic in (Magic.REQUEST, Magic.RESPONSE, Magic.SERVER_REQUEST, Magic.SERVER_RESPONSE):
        magic, opcode, key_len, extras_len, datatype, specific, body_len, opaque, cas = \
            HEADER.unpack_from(header)
        framing_len = 0
    else:
        raise FrameError(f"invalid magic byte 0x{magic:02x}")
    if framing_len + extras_len + key_len > body_len:
        raise FrameError(f"header lengths (framing {framing_len} + extras {extras_len} + "
                         f"key {key_len}) exceed body length {body_len}")
    return magic, opcode, framing_len, key_len, extras_len, datatype, specific, body_len, opaque, cas


def decode_frame(data: bytes | bytearray | memoryview) -> Frame:
    """Decode exactly one complete frame from ``data``."""
    if len(data) < HEADER_LEN:
        raise FrameError(f"frame shorter than the {HEADER_LEN}-byte header")
    magic, opcode, flen, klen, elen, datatype, specific, blen, opaque, cas = parse_header(
        bytes(data[:HEADER_LEN]))
    if len(data) != HEADER_LEN + blen:
        raise FrameError(f"frame is {len(data)} bytes, header says {HEADER_LEN + blen}")
    return build_frame(magic, opcode, flen, klen, elen, datatype, specific, opaque, cas,
                       bytes(data[HEADER_LEN:]))


def build_frame(magic: int, opcode: int, flen: int, klen: int, elen: int, datatype: int,
                specific: int, opaque: int, cas: int, body: bytes) -> Frame:
    """Split a body into its parts and build a :class:`Frame` from parsed header fields."""
    e0 = flen
    k0 = e0 + elen
    v0 = k0 + klen
    frame = Frame(magic, opcode, key=body[k0:v0], extras=body[e0:k0], value=body[v0:],
                  opaque=opaque, cas=cas, datatype=datatype, framing_extras=body[:e0])
    if magic in REQUEST_MAGICS:
        frame.vbucket = specific
    else:
        frame.status = specific
    return frame


def parse_frame_infos(data: bytes) -> list[tuple[int, bytes]]:
    """Split flexible-framing extras into ``(id, payload)`` pairs (protocol.md 1.1)."""
    infos = []
    pos = 0
    end = len(data)
    while pos < end:
        byte = data[pos]
        pos += 1
        ident, length = byte >> 4, byte & 0x0F
        if ident == 15:
            if pos >= end:
                raise FrameError("truncated frame-info id escape")
            ident += data[pos]
            pos += 1
        if length == 15:
            if pos >= end:
                raise FrameError("truncated frame-info length escape")
            length += data[pos]
            pos += 1
        if pos + length > end:
            raise FrameError(f"frame info {ident} needs {length} bytes, {end - pos} left")
        infos.append((ident, bytes(data[pos:pos + length])))
        pos += length
    return infos


def encode_frame_info(ident: int, payload: bytes = b"") -> bytes:
    """Encode one FrameInfo object (inverse of :func:`parse_frame_infos`)."""
    out = bytearray(1)
    length = len(payload)
    first_id, first_len = min(ident, 15), min(length, 15)
    out[0] = (first_id << 4) | first_len
    if ident >= 15:
        if ident - 15 > 255:
            raise FrameError(f"frame info id {ident} too large")
        out.append(ident - 15)
    if length >= 15:
        if length - 15 > 255:
            raise FrameError(f"frame info payload of {length} bytes too large")
        out.append(length - 15)
    return bytes(out) + payload
