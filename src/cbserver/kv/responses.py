"""Shared response builders of the KV handlers."""
from __future__ import annotations

from couchbase.protocol import STATUS_TEXT, Frame, encode_response
from couchbase.protocol.extras import MUTATION_TOKEN

from cbserver.engine import Bucket, Item

_TEXT = {int(status): text.encode() for status, text in STATUS_TEXT.items()}


def error(frame: Frame, status: int, message: str | None = None) -> bytes:
    """An error reply carrying the 2.x-style short text (or ``message``) as its value."""
    text = message.encode() if message is not None else _TEXT.get(status, b"")
    return encode_response(frame.opcode, status, value=text, opaque=frame.opaque)


def ok(frame: Frame, *, key: bytes = b"", extras: bytes = b"", value: bytes = b"",
       cas: int = 0, datatype: int = 0) -> bytes:
    """A success reply echoing the request's opcode and opaque."""
    return encode_response(frame.opcode, 0, key, extras, value, opaque=frame.opaque, cas=cas,
                           datatype=datatype)


def mutation_extras(session_wants_seqno: bool, bucket: Bucket, item: Item | None) -> bytes:
    """The 16-byte (vbucket uuid, seqno) extras when MUTATION_SEQNO was negotiated."""
    if session_wants_seqno and item is not None:
        return MUTATION_TOKEN.pack(bucket.vbucket_uuid, item.seqno)
    return b""
