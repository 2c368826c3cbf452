"""The fast path of the commonest requests, served straight off the receive buffer.

GET/GETQ/GETK/GETKQ hits on unlocked items and SET/SETQ without CAS are answered by
:func:`serve_fast` without building a :class:`~couchbase.protocol.Frame` or calling a
handler: one loop over consecutive requests, headers parsed with ``unpack_from``, the
bucket's records read directly and each reply header packed by one pre-bound ``pack``.
It stops, having changed nothing for that request, at the first one it cannot serve (a
miss, a lock, a CAS, odd extras, a full quota, another opcode or magic, an incomplete
frame, ...), and the connection serves that one through the full path (dispatch table
and handler modules), which owns every error reply. The replies built here are
byte-for-byte the ones :mod:`.retrieve` and :mod:`.store` build, and the statistics
end up the same (counted once per call instead of per request).
"""
from __future__ import annotations

import struct

from couchbase.protocol import HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, Datatype, Magic, Opcode
from couchbase.protocol.extras import MUTATION_TOKEN, STORE

from cbserver.engine import Bucket
from cbserver.engine.item import CAS, SEQNO

from .state import Session

#: A request header followed by 8 more bytes: the flags and expiration extras of a SET
#: (on a GET they are the first bytes of what follows, read but never used). The extras
#: length and the datatype are read as one 16-bit field: ``extras_len << 8 | datatype``.
_REQUEST_32 = struct.Struct(">BBHHHIIQII")
#: The same without the 8 bytes, for the last request of a read.
_REQUEST_24 = struct.Struct(">BBHHHIIQ")
#: Successful GET/GETQ reply header plus its flags extras: magic, opcode, extras length,
#: datatype, body length, opaque, CAS, flags (key length and status are 0).
_GET_REPLY = struct.Struct(">BB2xBB2xIIQI")
#: The same for GETK/GETKQ, which echo the key: magic, opcode, key length, extras length,
#: datatype, body length, opaque, CAS, flags.
_GETK_REPLY = struct.Struct(">BBHBB2xIIQI")
#: Successful SET reply header without a body: magic and opcode, opaque, CAS.
_SET_REPLY = struct.Struct(">H10xIQ")
#: Successful SET reply with a mutation token: magic and opcode, extras length, body
#: length, opaque, CAS, vBucket UUID, seqno.
_SET_TOKEN_REPLY = struct.Struct(">H2xB3xIIQ" + MUTATION_TOKEN.format.lstrip("<>!=@"))
_SET_LEN = _REQUEST_32.size
#: ``extras_len << 8 | datatype`` of a plain SET, with the JSON datatype bit or not.
_SET_SHAPE = STORE.size << 8 | Datatype.JSON
_TOKEN_LEN = MUTATION_TOKEN.size
_REQUEST = int(Magic.REQUEST)
_RESPONSE = int(Magic.RESPONSE)
_SET_OK = _RESPONSE << 8 | Opcode.SET
_SETQ = int(Opcode.SETQ)

_NONE, _GET, _GETK, _SET = range(4)


def _kinds() -> tuple[int, ...]:
    table = [_NONE] * 256
    for opcode in (Opcode.GET, Opcode.GETQ):
        table[opcode] = _GET
    for opcode in (Opcode.GETK, Opcode.GETKQ):
        table[opcode] = _GETK
    for opcode in (Opcode.SET, Opcode.SETQ):
        table[opcode] = _SET
    return tuple(table)


#: opcode -> which fast server handles it (_NONE: always the full path).
_KIND = _kinds()
_unpack_32 = _REQUEST_32.unpack_from
_unpack_24 = _REQUEST_24.unpack_from
_pack_get = _GET_REPLY.pack
_pack_getk = _GETK_REPLY.pack
_pack_set = _SET_REPLY.pack
_pack_set_token = _SET_TOKEN_REPLY.pack


def serve_fast(session: Session, bucket: Bucket, vbuckets: int, data: bytes, pos: int,
               out: list[bytes]) -> int:
    """Serve the fast-path requests of ``data`` from ``pos`` on, appending their replies
    to ``out``; return the offset of the first request left for the full path."""
    end = len(data)
    lookup = bucket.records.get
    is_plain = bucket.is_plain
    set_plain = bucket.set_plain
    append = out.append
    json = session.json
    tokens = session.mutation_seqno
    gets = sets = 0
    while True:
        left = end - pos
        if left >= _SET_LEN:
            (magic, opcode, key_len, shape, vbucket, body_len, opaque, cas, flags,
             exptime) = _unpack_32(data, pos)
        elif left >= HEADER_LEN:
            magic, opcode, key_len, shape, vbucket, body_len, opaque, cas = _unpack_24(data, pos)
            flags = exptime = 0  # no SET fits in fewer than 32 bytes
        else:
            break
        kind = _KIND[opcode]
        if magic != _REQUEST or not kind:
            break
        if kind == _SET:
            stop = pos + HEADER_LEN + body_len
            key_start = pos + _SET_LEN
            key_end = key_start + key_len
            if (shape | 1 != _SET_SHAPE or cas or not key_len or key_len > MAX_KEY_LEN
                    or vbucket >= vbuckets or stop > end or key_end > stop
                    or stop - key_end > MAX_VALUE_LEN):
                break
            record = set_plain(data[key_start:key_end], data[key_end:stop], flags, exptime,
                               shape & 1)
            if record is None:
                break
            sets += 1
            if opcode != _SETQ:
                if tokens:
                    append(_pack_set_token(_SET_OK, _TOKEN_LEN, _TOKEN_LEN, opaque, record[CAS],
                                           bucket.vbucket_uuid, record[SEQNO]))
                else:
                    append(_pack_set(_SET_OK, opaque, record[CAS]))
        else:
            start = pos + HEADER_LEN
            stop = start + key_len
            if (shape > 0xFF or body_len != key_len or not key_len or key_len > MAX_KEY_LEN
                    or vbucket >= vbuckets or stop > end):
                break
            key = data[start:stop]
            record = lookup(key)
            if record is None:
                break
            value, flags, cas, datatype, _, expiry, lock_expiry = record
            if (expiry or lock_expiry) and not is_plain(record):
                break
            gets += 1
            if kind == _GET:
                append(_pack_get(_RESPONSE, opcode, 4, datatype if json else 0, 4 + len(value),
                                 opaque, cas, flags))
            else:
                append(_pack_getk(_RESPONSE, opcode, key_len, 4, datatype if json else 0,
                                  4 + key_len + len(value), opaque, cas, flags))
                append(key)
            append(value)
        pos = stop
    if gets or sets:
        bucket.count_plain(gets, sets)
    return pos
