"""GET_CLUSTER_CONFIG (CCCP, protocol.md 1.6): the terse bucket config with $HOST."""
from __future__ import annotations

import struct

from couchbase.protocol import Frame, Status

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

_KNOWN_VERSION = struct.Struct(">qq")


def handle_get_cluster_config(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """The selected bucket's terse config; empty when the client already has this revision."""
    if frame.key or frame.value or len(frame.extras) not in (0, _KNOWN_VERSION.size):
        return error(frame, Status.EINVAL, "GET_CLUSTER_CONFIG takes only optional epoch+rev extras")
    target = session.data_bucket()
    if target is None:
        return error(frame, Status.KEY_ENOENT, "no bucket selected, so no config to return")
    server = session.server
    if frame.extras:
        epoch, rev = _KNOWN_VERSION.unpack(frame.extras)
        if (epoch, rev) >= (server.rev_epoch, server.rev):
            return ok(frame)
    return ok(frame, value=server.terse_config(target.name))
