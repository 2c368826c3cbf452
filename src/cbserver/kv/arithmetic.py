"""INCREMENT / DECREMENT, loud and quiet (protocol.md 1.2)."""
from __future__ import annotations

from couchbase.protocol import Frame, Opcode, Status
from couchbase.protocol.extras import ARITHMETIC, UINT64

from cbserver.engine import Bucket

from .locking import lock_error, locked_status
from .responses import error, mutation_extras, ok
from .state import Session

_INCREMENTS = frozenset((Opcode.INCREMENT, Opcode.INCREMENTQ))
_QUIET = frozenset((Opcode.INCREMENTQ, Opcode.DECREMENTQ))


def handle_arithmetic(session: Session, frame: Frame, bucket: Bucket) -> bytes | None:
    """Add or subtract ``delta``; create with ``initial`` unless expiration is 0xffffffff."""
    if len(frame.extras) != ARITHMETIC.size or frame.value:
        return error(frame, Status.EINVAL,
                     "incr/decr need 20 bytes of extras (delta, initial, expiration) and no value")
    delta, initial, exptime = ARITHMETIC.unpack(frame.extras)
    status, item, counter = bucket.arithmetic(frame.key, delta, initial, exptime,
                                              frame.opcode in _INCREMENTS, frame.cas)
    if status:
        return lock_error(frame, locked_status(session, bucket, frame.key, status), "incr/decr")
    if frame.opcode in _QUIET:
        return None
    return ok(frame, extras=mutation_extras(session.mutation_seqno, bucket, item),
              value=UINT64.pack(counter), cas=item.cas)
