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
end up the same (counted once per call instead of per request, in
``Bucket.fast_counts``).
"""
from __future__ import annotations

import logging
import struct
from collections.abc import Callable

from couchbase.protocol import HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, Datatype, Magic, Opcode
from couchbase.protocol.extras import MUTATION_TOKEN, STORE

from cbserver.engine import Bucket
from cbserver.engine.bucket import FAST_COUNTS, FAST_GETS, FAST_SETS
from cbserver.engine.item import (CAS, DATATYPE, EXPIRY, FLAGS, LOCK_EXPIRY, SEQNO, VALUE,
                                  Record)
from cbserver.pure_python import pure_python_requested

from .state import Session

log = logging.getLogger(__name__)

#: What the fast path reads of a GET-family request header: magic, key length, extras
#: length, vBucket, body length, opaque (the opcode is read before; datatype and CAS do
#: not matter to a GET).
_GET_REQUEST = struct.Struct(">BxHBxHII8x")
#: The same for a SET plus its 8 bytes of extras: magic, key length, extras length,
#: datatype, vBucket, body length, opaque, CAS, flags, expiration. Every field but the
#: lengths and opaque is an int below 256 in the common case (no allocation).
_SET_REQUEST = struct.Struct(">BxHBBHIIQII")
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
_SET_LEN = _SET_REQUEST.size
_STORE_EXTRAS_LEN = STORE.size
_TOKEN_LEN = MUTATION_TOKEN.size
_REQUEST = int(Magic.REQUEST)
_RESPONSE = int(Magic.RESPONSE)
_SET_OK = _RESPONSE << 8 | Opcode.SET
_SETQ = int(Opcode.SETQ)
_JSON = int(Datatype.JSON)

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
_unpack_get = _GET_REQUEST.unpack_from
_unpack_set = _SET_REQUEST.unpack_from
_pack_get = _GET_REPLY.pack
_pack_getk = _GETK_REPLY.pack
_pack_set = _SET_REPLY.pack
_pack_set_token = _SET_TOKEN_REPLY.pack
_Unpack = Callable[[bytes, int], tuple[int, ...]]
_Pack = Callable[..., bytes]


def serve_fast_python(session: Session, bucket: Bucket, data: bytes, pos: int,
                      out: list[bytes],
                      _kinds: tuple[int, ...] = _KIND, _get: int = _GET, _set: int = _SET,
                      _header_len: int = HEADER_LEN, _set_len: int = _SET_LEN,
                      _max_key: int = MAX_KEY_LEN, _max_value: int = MAX_VALUE_LEN,
                      _request: int = _REQUEST, _response: int = _RESPONSE,
                      _store_extras: int = _STORE_EXTRAS_LEN, _json: int = _JSON,
                      _setq: int = _SETQ, _set_ok: int = _SET_OK, _cas: int = CAS,
                      _unpack_get: _Unpack = _unpack_get, _unpack_set: _Unpack = _unpack_set,
                      _pack_get: _Pack = _pack_get, _pack_getk: _Pack = _pack_getk,
                      _pack_set: _Pack = _pack_set, _fast_gets: int = FAST_GETS,
                      _fast_sets: int = FAST_SETS,
                      _len: Callable[[bytes], int] = len) -> int:
    """Serve the fast-path requests of ``data`` from ``pos`` on, appending their replies
    to ``out``; return the offset of the first request left for the full path.

    This is the reference implementation: ``_fast_path.c`` keeps every rule stated here
    and in the module docstring (test_kv_fast_path_differential.py holds them to it).

    The arguments after ``out`` are never passed: as positional defaults they bind the
    module's constants and struct methods as locals, which the interpreter loads several
    times faster than globals on this per-request loop (and which keep its jumps short
    enough for CPython 3.11 to specialise the comparisons before them). Offsets are
    compared with limits computed once, since every sum of offsets past 256 allocates an
    int.
    """
    end = _len(data)
    vbuckets = bucket.settings.num_vbuckets
    last_header = end - _header_len
    last_set = end - _set_len
    lookup = bucket.records.get
    append = out.append
    json = session.json
    gets = sets = 0
    while True:
        if pos > last_header:
            break
        opcode = data[pos + 1]
        kind = _kinds[opcode]
        if kind == _set:
            if pos > last_set:
                break
            (magic, key_len, extras_len, datatype, vbucket, body_len, opaque, cas, flags,
             exptime) = _unpack_set(data, pos)
            stop = pos + _header_len + body_len
            if (magic != _request or extras_len != _store_extras or datatype > _json or cas
                    or not key_len or key_len > _max_key or vbucket >= vbuckets
                    or stop > end or body_len < key_len + _store_extras
                    or (body_len > _max_value
                        and body_len - _store_extras - key_len > _max_value)):
                break
            key_start = pos + _set_len
            key_end = key_start + key_len
            record = bucket.set_plain(data[key_start:key_end], data[key_end:stop], flags,
                                      exptime, datatype)
            if record is None:
                break
            sets += 1
            if opcode != _setq:
                if session.mutation_seqno:
                    append(_set_token_reply(bucket, opaque, record))
                else:
                    append(_pack_set(_set_ok, opaque, record[_cas]))
        elif kind:
            magic, key_len, extras_len, vbucket, body_len, opaque = _unpack_get(data, pos)
            start = pos + _header_len
            stop = start + key_len
            if (magic != _request or extras_len or body_len != key_len or not key_len
                    or key_len > _max_key or vbucket >= vbuckets or stop > end):
                break
            key = data[start:stop]
            record = lookup(key)
            if record is None:
                break
            value, flags, cas, datatype, _, expiry, lock_expiry = record
            if (expiry or lock_expiry) and not bucket.is_plain(record):
                break
            gets += 1
            if kind == _get:
                append(_pack_get(_response, opcode, 4, datatype if json else 0,
                                 4 + _len(value), opaque, cas, flags))
            else:
                append(_pack_getk(_response, opcode, key_len, 4, datatype if json else 0,
                                  4 + key_len + _len(value), opaque, cas, flags))
                append(key)
            append(value)
        else:
            break
        pos = stop
    if gets or sets:
        counts = bucket.fast_counts
        counts[_fast_gets] += gets
        counts[_fast_sets] += sets
    return pos


def fast_bucket_python(session: Session) -> Bucket | None:
    """The bucket the fast path may serve for ``session``; None when every request must
    take the full path (no bucket, bucket deleted or warming up). The reference for
    ``_fast_path.fast_bucket``."""
    bucket = session.bucket
    if bucket is None:
        bucket = session.data_bucket()
        if bucket is None:
            return None
    if bucket.deleted or bucket.warming_up:
        return None
    return bucket


def _set_token_reply(bucket: Bucket, opaque: int, record: Record) -> bytes:
    """The SET reply with a mutation token (vBucket UUID and seqno) as HELLO asked."""
    return _pack_set_token(_SET_OK, _TOKEN_LEN, _TOKEN_LEN, opaque, record[CAS],
                           bucket.vbucket_uuid, record[SEQNO])


ServeFast = Callable[[Session, Bucket, bytes, int, list[bytes]], int]
FastBucket = Callable[[Session], "Bucket | None"]

#: What the C extension must have been compiled with: its name for each constant -> the
#: value the protocol package and the engine define.
C_CONSTANTS = {
    "HEADER_LEN": HEADER_LEN, "MAX_KEY_LEN": MAX_KEY_LEN, "MAX_VALUE_LEN": MAX_VALUE_LEN,
    "MAGIC_REQUEST": _REQUEST, "MAGIC_RESPONSE": _RESPONSE,
    "OP_GET": Opcode.GET, "OP_SET": Opcode.SET, "OP_GETQ": Opcode.GETQ,
    "OP_GETK": Opcode.GETK, "OP_GETKQ": Opcode.GETKQ, "OP_SETQ": Opcode.SETQ,
    "DATATYPE_JSON": _JSON, "STORE_EXTRAS_LEN": _STORE_EXTRAS_LEN, "TOKEN_LEN": _TOKEN_LEN,
    "RECORD_LEN": len(Record.__args__), "RECORD_VALUE": VALUE, "RECORD_FLAGS": FLAGS,
    "RECORD_CAS": CAS, "RECORD_DATATYPE": DATATYPE, "RECORD_SEQNO": SEQNO,
    "RECORD_EXPIRY": EXPIRY, "RECORD_LOCK_EXPIRY": LOCK_EXPIRY,
    "FAST_GETS": FAST_GETS, "FAST_SETS": FAST_SETS, "FAST_COUNTS": FAST_COUNTS,
}


def load_c_fast_path() -> tuple[ServeFast, FastBucket] | None:
    """The C ``serve_fast`` and ``fast_bucket``, or None when the extension was not
    built; raises when it
    was compiled with constants that differ from the protocol package's and the
    engine's (a stale or edited build must not serve with other limits)."""
    try:
        from . import _fast_path
    except ImportError as exc:
        log.debug("KV fast path: C extension unavailable (%s)", exc)
        return None
    drifted = {name: (getattr(_fast_path, name, None), expected)
               for name, expected in C_CONSTANTS.items()
               if getattr(_fast_path, name, None) != expected}
    if drifted:
        raise RuntimeError(f"cbserver.kv._fast_path was built with other constants than "
                           f"couchbase.protocol and the engine ((built, expected): "
                           f"{drifted}); rebuild it with pip install -e .")
    return _fast_path.serve_fast, _fast_path.fast_bucket


def _select() -> tuple[ServeFast, FastBucket, str]:
    """The implementation to use: C unless missing or CBSERVER_PURE_PYTHON is set."""
    if pure_python_requested():
        log.debug("KV fast path: pure Python (CBSERVER_PURE_PYTHON is set)")
        return serve_fast_python, fast_bucket_python, "python"
    accelerated = load_c_fast_path()
    if accelerated is None:
        return serve_fast_python, fast_bucket_python, "python"
    log.debug("KV fast path: C extension %s", accelerated[0].__module__)
    return *accelerated, "c"


#: The fast path in use (the names the connection calls) and which one it is.
serve_fast, fast_bucket, IMPLEMENTATION = _select()
