"""Connection-level commands: HELLO, VERSION, NOOP, QUIT, VERBOSITY and SELECT_BUCKET."""
from __future__ import annotations

from couchbase.protocol import Feature, Frame, FrameError, Opcode, Status
from couchbase.protocol.extras import decode_features, encode_features

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

#: HELLO features this server implements; XERROR brings GET_ERROR_MAP and the modern
#: LOCKED / NOT_LOCKED statuses, clients that do not ask keep the 2.x statuses.
SUPPORTED_FEATURES = frozenset((Feature.TCPNODELAY, Feature.MUTATION_SEQNO, Feature.XERROR,
                                Feature.SELECT_BUCKET, Feature.JSON, Feature.ALT_REQUEST_SUPPORT))


def handle_hello(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Acknowledge the requested features this server supports, in request order."""
    try:
        requested = decode_features(frame.value)
    except FrameError as exc:
        return error(frame, Status.EINVAL, f"malformed HELLO: {exc}")
    agreed = []
    for code in requested:
        if code in SUPPORTED_FEATURES and code not in agreed:
            agreed.append(code)
    session.json = Feature.JSON in agreed
    session.mutation_seqno = Feature.MUTATION_SEQNO in agreed
    session.xerror = Feature.XERROR in agreed
    session.select_bucket = Feature.SELECT_BUCKET in agreed
    return ok(frame, value=encode_features(agreed))


def handle_version(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """The server's version string."""
    return ok(frame, value=session.server.version.encode())


def handle_noop(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Proves every earlier request of the pipeline has been answered."""
    return ok(frame)


def handle_verbosity(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Accepted and ignored (logging is configured by the embedding program)."""
    return ok(frame)


def handle_quit(session: Session, frame: Frame, bucket: Bucket | None) -> bytes | None:
    """Close the connection after answering (QUIT) or silently (QUITQ)."""
    session.closing = True
    return None if frame.opcode == Opcode.QUITQ else ok(frame)


def handle_select_bucket(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Switch this connection to the named bucket if its credentials allow it.

    An unknown bucket is EACCESS like a forbidden one (protocol.md 6.5): modern clients
    report "bucket not found" at once, where KEY_ENOENT would make them retry.
    """
    name = frame.key.decode("utf-8", "replace")
    if name == "@no bucket@":
        session.bucket = None
        session.selected = False
        return ok(frame)
    target = session.server.buckets.get(name)
    if target is None:
        return error(frame, Status.EACCESS, f"SELECT_BUCKET: no bucket named {name!r}")
    if not session.may_use(target):
        return error(frame, Status.EACCESS,
                     f"SELECT_BUCKET: no access to bucket {name!r}; authenticate first")
    session.bucket = target
    session.selected = True
    return ok(frame)
