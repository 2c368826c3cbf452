"""SET/ADD/REPLACE, APPEND/PREPEND and DELETE, loud and quiet."""
from __future__ import annotations

from couchbase.protocol import MAX_VALUE_LEN, LOUD_TO_QUIET, Datatype, Frame, Opcode, Status
from couchbase.protocol.extras import MUTATION_TOKEN, STORE

from cbserver.engine import Bucket
from cbserver.engine.bucket import ADD, REPLACE, SET

from .locking import lock_error, locked_status
from .responses import error, mutation_extras, ok
from .state import Session

_MODES = {Opcode.SET: SET, Opcode.ADD: ADD, Opcode.REPLACE: REPLACE}
_MODES.update({LOUD_TO_QUIET[op]: mode for op, mode in list(_MODES.items())})
_QUIET = frozenset((Opcode.SETQ, Opcode.ADDQ, Opcode.REPLACEQ, Opcode.APPENDQ, Opcode.PREPENDQ,
                    Opcode.DELETEQ))
_APPENDS = frozenset((Opcode.APPEND, Opcode.APPENDQ))
_VALUE_TOO_BIG = f"value larger than the {MAX_VALUE_LEN}-byte item limit"


def _reply(session: Session, frame: Frame, bucket: Bucket, status: int, item) -> bytes | None:
    if status:
        return lock_error(frame, locked_status(session, bucket, frame.key, status), "store")
    if frame.opcode in _QUIET:
        return None
    return ok(frame, extras=mutation_extras(session.mutation_seqno, bucket, item), cas=item.cas)


def handle_store(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """SET/ADD/REPLACE: extras are flags and expiration; CAS and lock rules in the engine."""
    if len(frame.extras) != STORE.size:
        return error(frame, Status.EINVAL, "store needs 8 bytes of extras (flags, expiration)")
    if len(frame.value) > MAX_VALUE_LEN:
        return error(frame, Status.E2BIG, _VALUE_TOO_BIG)
    if frame.datatype & ~Datatype.JSON:
        return error(frame, Status.EINVAL, "datatype bits other than JSON were not negotiated")
    flags, exptime = STORE.unpack(frame.extras)
    status, item = bucket.store(_MODES[frame.opcode], frame.key, frame.value, flags, exptime,
                                frame.cas, frame.datatype)
    return _reply(session, frame, bucket, status, item)


def handle_concat(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """APPEND/PREPEND: no extras; a missing key is NOT_STORED."""
    if frame.extras:
        return error(frame, Status.EINVAL, "append/prepend take no extras")
    if len(frame.value) > MAX_VALUE_LEN:
        return error(frame, Status.E2BIG, _VALUE_TOO_BIG)
    status, item = bucket.concat(frame.key, frame.value, frame.opcode in _APPENDS, frame.cas)
    return _reply(session, frame, bucket, status, item)


def handle_delete(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """DELETE: CAS-checked; a locked item without its lock CAS gives ETMPFAIL."""
    if frame.extras or frame.value:
        return error(frame, Status.EINVAL, "delete takes no extras and no value")
    status, cas = bucket.delete(frame.key, frame.cas)
    if status:
        return lock_error(frame, locked_status(session, bucket, frame.key, status), "DELETE")
    if frame.opcode in _QUIET:
        return None
    extras = b""
    if session.mutation_seqno:
        extras = MUTATION_TOKEN.pack(bucket.vbucket_uuid, bucket.seqno)
    return ok(frame, extras=extras, cas=cas)
