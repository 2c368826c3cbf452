"""TOUCH, GAT and GATQ: change an item's expiration (GAT also returns it)."""
from __future__ import annotations

from couchbase.protocol import Frame, Opcode, Status
from couchbase.protocol.extras import UINT32

from cbserver.engine import Bucket

from .locking import lock_error, locked_status
from .responses import error, ok
from .state import Session


def handle_touch(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """Set a new expiration; GAT/GATQ answer with flags and value, GATQ is silent on a miss."""
    if len(frame.extras) != UINT32.size or frame.value:
        return error(frame, Status.EINVAL, "touch/gat need 4 bytes of extras (expiration)")
    status, item = bucket.touch(frame.key, UINT32.unpack(frame.extras)[0])
    opcode = frame.opcode
    if status:
        if opcode == Opcode.GATQ and status == Status.KEY_ENOENT:
            return None
        return lock_error(frame, locked_status(session, bucket, frame.key, status), "touch")
    if opcode == Opcode.TOUCH:
        return ok(frame, cas=item.cas)
    return ok(frame, extras=UINT32.pack(item.flags), value=item.value, cas=item.cas,
              datatype=item.datatype if session.json else 0)
