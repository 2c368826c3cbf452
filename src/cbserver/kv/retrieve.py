"""GET, GETQ, GETK, GETKQ, GET_META and GET_REPLICA."""
from __future__ import annotations

from couchbase.protocol import LOCKED_CAS, QUIET_ON_MISS, Frame, Opcode, Status, encode_response
from couchbase.protocol.extras import GET_META_V1, GET_META_V2, UINT32

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

_WITH_KEY = frozenset((Opcode.GETK, Opcode.GETKQ))


def handle_get(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """Return the value and flags; a locked item reports CAS 0xffff... (protocol.md 2.3)."""
    if frame.extras or frame.value:
        return error(frame, Status.EINVAL, "GET takes no extras and no value")
    item = bucket.get(frame.key)
    opcode = frame.opcode
    if item is None:
        if opcode in QUIET_ON_MISS:
            return None
        if opcode in _WITH_KEY:
            return encode_miss_with_key(frame)
        return error(frame, Status.KEY_ENOENT)
    cas = LOCKED_CAS if bucket.is_locked(item) else item.cas
    return ok(frame, key=frame.key if opcode in _WITH_KEY else b"", extras=UINT32.pack(item.flags),
              value=item.value, cas=cas, datatype=item.datatype if session.json else 0)


def encode_miss_with_key(frame: Frame) -> bytes:
    """GETK miss: the key is echoed so a pipelining client can tell which one missed."""
    return encode_response(frame.opcode, Status.KEY_ENOENT, key=frame.key, value=b"Not found",
                           opaque=frame.opaque)


def handle_get_meta(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """Metadata of a live item: deleted flag, flags, expiry, seqno (+ datatype in v2)."""
    if len(frame.extras) > 1 or frame.value:
        return error(frame, Status.EINVAL, "GET_META takes at most 1 byte of extras")
    item = bucket.get(frame.key)
    if item is None:
        return error(frame, Status.KEY_ENOENT)
    if frame.extras == b"\x02":
        extras = GET_META_V2.pack(0, item.flags, item.expiry, item.seqno, item.datatype)
    else:
        extras = GET_META_V1.pack(0, item.flags, item.expiry, item.seqno)
    return ok(frame, extras=extras, cas=item.cas)


def handle_get_replica(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """A single node holds no replicas, so every vBucket answers NOT_MY_VBUCKET."""
    return error(frame, Status.NOT_MY_VBUCKET)
