"""OBSERVE: key state and CAS of each requested key (protocol.md 1.5)."""
from __future__ import annotations

from couchbase.protocol import MAX_KEY_LEN, Frame, FrameError, Status
from couchbase.protocol.extras import decode_observe_request, encode_observe_response

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session


def handle_observe(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """Answer (vbucket, key, state, cas) per key; header CAS 0 = no persistence delay hint."""
    try:
        keys = decode_observe_request(frame.value)
    except FrameError as exc:
        return error(frame, Status.EINVAL, f"malformed OBSERVE body: {exc}")
    entries = []
    for vbucket, key in keys:
        if not key or len(key) > MAX_KEY_LEN:
            return error(frame, Status.EINVAL, f"OBSERVE key of {len(key)} bytes is not allowed")
        state, cas = bucket.observe(key)
        entries.append((vbucket, key, state, cas))
    return ok(frame, value=encode_observe_response(entries))
