"""GET_LOCKED and UNLOCK_KEY with the Couchbase 2.x semantics of protocol.md 2.3."""
from __future__ import annotations

from couchbase.protocol import Frame, Status
from couchbase.protocol.extras import UINT32

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session


def handle_get_locked(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """Lock the item (0 or over 30 s means 15 s) and return it with the lock CAS."""
    if len(frame.extras) not in (0, UINT32.size) or frame.value:
        return error(frame, Status.EINVAL, "GET_LOCKED takes 0 or 4 bytes of extras (lock time)")
    if bucket.settings.bucket_type == "memcached":
        return error(frame, Status.NOT_SUPPORTED)
    lock_seconds = UINT32.unpack(frame.extras)[0] if frame.extras else 0
    status, item = bucket.get_locked(frame.key, lock_seconds)
    if status:
        return error(frame, status, "Lock error" if status == Status.ETMPFAIL else None)
    return ok(frame, extras=UINT32.pack(item.flags), value=item.value, cas=item.cas,
              datatype=item.datatype if session.json else 0)


def handle_unlock(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """Release a lock; the header CAS must be the lock CAS."""
    if frame.extras or frame.value:
        return error(frame, Status.EINVAL, "UNLOCK_KEY takes no extras and no value")
    status = bucket.unlock(frame.key, frame.cas)
    if status:
        return error(frame, status)
    return ok(frame)
