"""FLUSH / FLUSHQ over the binary protocol: only on buckets with flush enabled (2.x)."""
from __future__ import annotations

from couchbase.protocol import Frame, Opcode, Status
from couchbase.protocol.extras import UINT32

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session


def handle_flush(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """Drop every item; NOT_SUPPORTED unless the bucket's flushEnabled is set."""
    if len(frame.extras) not in (0, UINT32.size) or frame.key or frame.value:
        return error(frame, Status.EINVAL, "FLUSH takes only an optional 4-byte expiration")
    if frame.extras and UINT32.unpack(frame.extras)[0]:
        return error(frame, Status.EINVAL, "delayed FLUSH is not supported; expiration must be 0")
    if not bucket.settings.flush_enabled:
        return error(frame, Status.NOT_SUPPORTED, f"flush is disabled for bucket {bucket.name!r}")
    bucket.flush()
    return None if frame.opcode == Opcode.FLUSHQ else ok(frame)
