"""GET_LOCKED and UNLOCK_KEY with the Couchbase 2.x semantics of protocol.md 2.3, and the
modern LOCKED / NOT_LOCKED statuses for clients that negotiated XERROR."""
from __future__ import annotations

from couchbase.protocol import Frame, Status
from couchbase.protocol.extras import UINT32

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

_LOCK_CAUSED = frozenset((Status.KEY_EEXISTS, Status.ETMPFAIL))


def locked_status(session: Session, bucket: Bucket, key: bytes, status: int) -> int:
    """LOCKED instead of the 2.x EEXISTS/ETMPFAIL when a lock caused it and XERROR is on."""
    if session.xerror and status in _LOCK_CAUSED and bucket.key_locked(key):
        return Status.LOCKED
    return status


def lock_error(frame: Frame, status: int, operation: str) -> bytes:
    """The error reply of a failed mutation, naming the lock when it was the cause."""
    if status == Status.LOCKED:
        return error(frame, status, f"{operation} of key {frame.key!r} refused: the key is locked")
    return error(frame, status)


def handle_get_locked(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """Lock the item (0 or over 30 s means 15 s) and return it with the lock CAS."""
    if len(frame.extras) not in (0, UINT32.size) or frame.value:
        return error(frame, Status.EINVAL, "GET_LOCKED takes 0 or 4 bytes of extras (lock time)")
    if bucket.settings.bucket_type == "memcached":
        return error(frame, Status.NOT_SUPPORTED)
    lock_seconds = UINT32.unpack(frame.extras)[0] if frame.extras else 0
    status, item = bucket.get_locked(frame.key, lock_seconds)
    if status:
        status = locked_status(session, bucket, frame.key, status)
        if status == Status.ETMPFAIL:
            return error(frame, status, "Lock error")
        return lock_error(frame, status, "GET_LOCKED")
    return ok(frame, extras=UINT32.pack(item.flags), value=item.value, cas=item.cas,
              datatype=item.datatype if session.json else 0)


def handle_unlock(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """Release a lock; the header CAS must be the lock CAS."""
    if frame.extras or frame.value:
        return error(frame, Status.EINVAL, "UNLOCK_KEY takes no extras and no value")
    status = bucket.unlock(frame.key, frame.cas)
    if status == Status.ETMPFAIL and session.xerror:
        if bucket.key_locked(frame.key):
            return lock_error(frame, Status.LOCKED, "UNLOCK_KEY with a CAS other than the lock's")
        return error(frame, Status.NOT_LOCKED, f"UNLOCK_KEY: key {frame.key!r} is not locked")
    if status:
        return error(frame, status)
    return ok(frame)
