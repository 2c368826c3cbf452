"""GET_ERROR_MAP (protocol.md 2.4): every status this server can send, for XERROR clients.

The couchbase-cxx client asks for the map right after authenticating when XERROR was
acknowledged and trusts it blindly (it requires ``revision``, ``errors`` and a ``name``,
``desc`` and ``attrs`` per entry), so the map covers the whole ``Status`` enum and no
entry names a retry attribute without a retry strategy.
"""
from __future__ import annotations

import json
from functools import lru_cache

from couchbase.protocol import Datatype, Frame, Status
from couchbase.protocol.extras import UINT16

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

#: Newest error-map format this server writes (version 2 only adds attributes we never use).
MAX_VERSION = 2
REVISION = 1

_ENTRIES: dict[Status, tuple[str, tuple[str, ...]]] = {
    Status.SUCCESS: ("Success", ("success",)),
    Status.KEY_ENOENT: ("Not found", ("item-only",)),
    Status.KEY_EEXISTS: ("Key exists or CAS mismatch", ("item-only",)),
    Status.E2BIG: ("Value too large", ("invalid-input",)),
    Status.EINVAL: ("Invalid arguments", ("invalid-input",)),
    Status.NOT_STORED: ("Not stored", ("item-only",)),
    Status.DELTA_BADVAL: ("Non-numeric value for increment or decrement", ("invalid-input",)),
    Status.NOT_MY_VBUCKET: ("This node does not own the vBucket",
                            ("fetch-config", "invalid-input")),
    Status.NO_BUCKET: ("No bucket selected", ("conn-state-invalidated",)),
    Status.LOCKED: ("The item is locked", ("item-locked", "item-only")),
    Status.DCP_STREAM_NOT_FOUND: ("No DCP stream for this vBucket", ("dcp",)),
    Status.OPAQUE_NO_MATCH: ("Opaque does not match a DCP stream", ("dcp",)),
    Status.EWOULDTHROTTLE: ("The request would be throttled", ("temp",)),
    Status.ECONFIG_ONLY: ("Only cluster configuration requests are served",
                          ("conn-state-invalidated",)),
    Status.NOT_LOCKED: ("The item is not locked", ("item-only",)),
    Status.CAS_VALUE_INVALID: ("Invalid CAS value", ("invalid-input",)),
    Status.AUTH_STALE: ("Authentication is no longer valid", ("auth", "conn-state-invalidated")),
    Status.AUTH_ERROR: ("Authentication failed", ("auth",)),
    Status.AUTH_CONTINUE: ("Continue the authentication exchange", ("auth", "special-handling")),
    Status.ERANGE: ("Out of range", ("invalid-input",)),
    Status.ROLLBACK: ("DCP rollback required", ("dcp",)),
    Status.EACCESS: ("No access to the resource", ("auth",)),
    Status.NOT_INITIALIZED: ("The node is not initialised", ("temp",)),
    Status.UNKNOWN_FRAME_INFO: ("Unknown frame info in the request", ("support",)),
    Status.UNKNOWN_COMMAND: ("Unknown command", ("support",)),
    Status.ENOMEM: ("Out of memory", ("temp",)),
    Status.NOT_SUPPORTED: ("Not supported", ("support",)),
    Status.EINTERNAL: ("Internal error", ("internal",)),
    Status.EBUSY: ("Server too busy", ("temp",)),
    Status.ETMPFAIL: ("Temporary failure", ("temp",)),
    Status.XATTR_EINVAL: ("Invalid extended attribute", ("invalid-input",)),
    Status.UNKNOWN_COLLECTION: ("Unknown collection", ("invalid-input",)),
    Status.CANNOT_APPLY_COLLECTIONS_MANIFEST: ("Cannot apply the collections manifest",
                                               ("internal",)),
    Status.UNKNOWN_SCOPE: ("Unknown scope", ("invalid-input",)),
    Status.DCP_STREAMID_INVALID: ("Invalid DCP stream id", ("dcp", "invalid-input")),
    Status.DURABILITY_INVALID_LEVEL: ("Invalid durability level", ("invalid-input",)),
    Status.DURABILITY_IMPOSSIBLE: ("Durability requirements cannot be met", ("item-only",)),
    Status.SYNC_WRITE_IN_PROGRESS: ("A synchronous write is in progress", ("item-only", "temp")),
    Status.SYNC_WRITE_AMBIGUOUS: ("The synchronous write outcome is unknown", ("item-only",)),
    Status.SYNC_WRITE_RECOMMIT_IN_PROGRESS: ("A synchronous write is being recommitted",
                                             ("item-only", "temp")),
    Status.SUBDOC_PATH_ENOENT: ("Sub-document path not found", ("item-only", "subdoc")),
    Status.SUBDOC_MULTI_PATH_FAILURE: ("A sub-document path failed", ("item-only", "subdoc")),
    Status.SUBDOC_SUCCESS_DELETED: ("Sub-document success on a deleted item",
                                    ("success", "subdoc", "item-deleted")),
}


@lru_cache(maxsize=MAX_VERSION)
def error_map_json(version: int) -> bytes:
    """The error map document in format ``version`` (1 or 2)."""
    errors = {
        f"{int(status):x}": {"name": status.name, "desc": desc, "attrs": list(attrs)}
        for status, (desc, attrs) in _ENTRIES.items()
    }
    return json.dumps({"version": version, "revision": REVISION, "errors": errors}).encode()


def handle_get_error_map(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """The map in the newest format not above the client's 16-bit maximum version."""
    if frame.key or frame.extras or len(frame.value) != UINT16.size:
        return error(frame, Status.EINVAL,
                     "GET_ERROR_MAP takes only a 2-byte maximum version as its value")
    wanted = UINT16.unpack(frame.value)[0]
    if wanted == 0:
        return error(frame, Status.EINVAL, "GET_ERROR_MAP: version 0 does not exist")
    return ok(frame, value=error_map_json(min(wanted, MAX_VERSION)),
              datatype=Datatype.JSON if session.json else 0)
