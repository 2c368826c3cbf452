"""GET_CLUSTER_CONFIG (CCCP, protocol.md 1.6 and 6.2): the terse bucket config with $HOST,
or the global config on a modern bucket-less session."""
from __future__ import annotations

import json
import struct

from couchbase.protocol import Datatype, Frame, Status

from cbserver.config_json import global_config
from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

_KNOWN_VERSION = struct.Struct(">qq")


def handle_get_cluster_config(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """The selected bucket's terse config; empty when the client already has this revision.

    A client that negotiated SELECT_BUCKET but has not selected one yet is bootstrapping a
    cluster-level session (Python SDK 4.x ``Cluster``): it gets the global config.  A 2.x
    client keeps the 2.x rule: the bucket it authenticated for, else ``default``.
    """
    if frame.key or frame.value or len(frame.extras) not in (0, _KNOWN_VERSION.size):
        return error(frame, Status.EINVAL,
                     "GET_CLUSTER_CONFIG takes only optional epoch+rev extras")
    server = session.server
    if frame.extras:
        epoch, rev = _KNOWN_VERSION.unpack(frame.extras)
        if (epoch, rev) >= (server.rev_epoch, server.rev):
            return ok(frame)
    datatype = Datatype.JSON if session.json else 0
    if session.select_bucket and not session.selected:
        return ok(frame, value=json.dumps(global_config(server)).encode(), datatype=datatype)
    target = session.data_bucket()
    if target is None:
        return error(frame, Status.KEY_ENOENT, "no bucket selected, so no config to return")
    return ok(frame, value=server.terse_config(target.name), datatype=datatype)
