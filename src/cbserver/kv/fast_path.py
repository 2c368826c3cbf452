"""The fast path of the commonest requests, served straight off the receive buffer.

GET/GETQ/GETK/GETKQ hits on unlocked items and SET/SETQ without CAS are answered by
:func:`serve_fast` without building a :class:`~couchbase.protocol.Frame` or calling a
handler: one loop over consecutive requests, headers parsed with ``unpack_from``. It
stops, having changed nothing for that request, at the first one it cannot serve (a
miss, a lock, a CAS, odd extras, a full quota, another opcode or magic, an incomplete
frame, ...), and the connection serves that one through the full path (dispatch table
and handler modules), which owns every error reply. The replies built here are
byte-for-byte the ones :mod:`.retrieve` and :mod:`.store` build.
"""
from __future__ import annotations

import struct

from couchbase.protocol import HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, Datatype, Magic, Opcode
from couchbase.protocol.extras import MUTATION_TOKEN, STORE
from couchbase.protocol.frames import HEADER

from cbserver.engine import Bucket

from .state import Session

#: A request header followed by the flags and expiration extras of a SET.
_SET_REQUEST = struct.Struct(HEADER.format + "II")
#: A response header followed by the 4-byte flags extras of a GET reply.
_GET_REPLY = struct.Struct(HEADER.format + "I")
_SET_LEN = _SET_REQUEST.size
_STORE_EXTRAS_LEN = STORE.size
_TOKEN_LEN = MUTATION_TOKEN.size
_REQUEST = int(Magic.REQUEST)
_RESPONSE = int(Magic.RESPONSE)
_NOT_JSON = ~Datatype.JSON & 0xFF
_SETQ = int(Opcode.SETQ)

_NONE, _GET, _GETK, _SET = range(4)


def _kinds() -> bytes:
    table = bytearray(256)
    for opcode in (Opcode.GET, Opcode.GETQ):
        table[opcode] = _GET
    for opcode in (Opcode.GETK, Opcode.GETKQ):
        table[opcode] = _GETK
    for opcode in (Opcode.SET, Opcode.SETQ):
        table[opcode] = _SET
    return bytes(table)


#: opcode -> which fast server handles it (_NONE: always the full path).
_KIND = _kinds()
_unpack_header = HEADER.unpack_from
_unpack_set = _SET_REQUEST.unpack_from
_pack_get = _GET_REPLY.pack
_pack_header = HEADER.pack
_pack_token = MUTATION_TOKEN.pack


def serve_fast(session: Session, bucket: Bucket, vbuckets: int, data: bytes, pos: int,
               out: list[bytes]) -> int:
    """Serve the fast-path requests of ``data`` from ``pos`` on, appending their replies
    to ``out``; return the offset of the first request left for the full path."""
    end = len(data)
    get_plain = bucket.get_plain
    set_plain = bucket.set_plain
    append = out.append
    while end - pos >= HEADER_LEN and data[pos] == _REQUEST:
        kind = _KIND[data[pos + 1]]
        if kind == _SET:
            if end - pos < _SET_LEN:
                return pos
            (_, opcode, key_len, extras_len, datatype, vbucket, body_len, opaque, cas, flags,
             exptime) = _unpack_set(data, pos)
            value_len = body_len - _STORE_EXTRAS_LEN - key_len
            stop = pos + HEADER_LEN + body_len
            if (extras_len != _STORE_EXTRAS_LEN or cas or datatype & _NOT_JSON
                    or not 0 < key_len <= MAX_KEY_LEN or vbucket >= vbuckets or stop > end
                    or not 0 <= value_len <= MAX_VALUE_LEN):
                return pos
            key_end = pos + _SET_LEN + key_len
            item = set_plain(data[pos + _SET_LEN:key_end], data[key_end:stop], flags, exptime,
                             datatype)
            if item is None:
                return pos
            if opcode != _SETQ:
                if session.mutation_seqno:
                    append(_pack_header(_RESPONSE, opcode, 0, _TOKEN_LEN, 0, 0, _TOKEN_LEN,
                                        opaque, item.cas))
                    append(_pack_token(bucket.vbucket_uuid, item.seqno))
                else:
                    append(_pack_header(_RESPONSE, opcode, 0, 0, 0, 0, 0, opaque, item.cas))
        elif kind:
            (_, opcode, key_len, extras_len, datatype, vbucket, body_len, opaque,
             cas) = _unpack_header(data, pos)
            start = pos + HEADER_LEN
            stop = start + key_len
            if (extras_len or body_len != key_len or not 0 < key_len <= MAX_KEY_LEN
                    or vbucket >= vbuckets or stop > end):
                return pos
            key = data[start:stop]
            item = get_plain(key)
            if item is None:
                return pos
            value = item.value
            item_type = item.datatype if session.json else 0
            if kind == _GET:
                append(_pack_get(_RESPONSE, opcode, 0, 4, item_type, 0, 4 + len(value),
                                 opaque, item.cas, item.flags))
            else:
                append(_pack_get(_RESPONSE, opcode, key_len, 4, item_type, 0,
                                 4 + key_len + len(value), opaque, item.cas, item.flags))
                append(key)
            append(value)
        else:
            return pos
        pos = stop
    return pos
