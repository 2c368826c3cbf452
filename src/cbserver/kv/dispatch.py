"""The opcode table: which handler serves an opcode and what it needs first."""
from __future__ import annotations

from collections.abc import Callable

from couchbase.protocol import Opcode as Op

from . import (arithmetic, auth, config, error_map, flush, locking, observe, retrieve, session,
               stats, store, touch)

#: The handler needs a bucket the connection may use.
BUCKET = 1
#: The handler needs a valid key and a vBucket this node owns (implies BUCKET).
KEYED = 2 | BUCKET

Handler = Callable[..., "bytes | None"]

_ENTRIES: list[tuple[tuple[int, ...], Handler, int]] = [
    ((Op.GET, Op.GETQ, Op.GETK, Op.GETKQ), retrieve.handle_get, KEYED),
    ((Op.GET_META,), retrieve.handle_get_meta, KEYED),
    ((Op.GET_REPLICA,), retrieve.handle_get_replica, KEYED),
    ((Op.SET, Op.SETQ, Op.ADD, Op.ADDQ, Op.REPLACE, Op.REPLACEQ), store.handle_store, KEYED),
    ((Op.APPEND, Op.APPENDQ, Op.PREPEND, Op.PREPENDQ), store.handle_concat, KEYED),
    ((Op.DELETE, Op.DELETEQ), store.handle_delete, KEYED),
    ((Op.INCREMENT, Op.INCREMENTQ, Op.DECREMENT, Op.DECREMENTQ), arithmetic.handle_arithmetic,
     KEYED),
    ((Op.TOUCH, Op.GAT, Op.GATQ), touch.handle_touch, KEYED),
    ((Op.GET_LOCKED,), locking.handle_get_locked, KEYED),
    ((Op.UNLOCK_KEY,), locking.handle_unlock, KEYED),
    ((Op.OBSERVE,), observe.handle_observe, BUCKET),
    ((Op.STAT,), stats.handle_stat, BUCKET),
    ((Op.FLUSH, Op.FLUSHQ), flush.handle_flush, BUCKET),
    ((Op.GET_CLUSTER_CONFIG,), config.handle_get_cluster_config, 0),
    ((Op.HELLO,), session.handle_hello, 0),
    ((Op.VERSION,), session.handle_version, 0),
    ((Op.NOOP,), session.handle_noop, 0),
    ((Op.VERBOSITY,), session.handle_verbosity, 0),
    ((Op.QUIT, Op.QUITQ), session.handle_quit, 0),
    ((Op.SELECT_BUCKET,), session.handle_select_bucket, 0),
    ((Op.SASL_LIST_MECHS,), auth.handle_list_mechs, 0),
    ((Op.SASL_AUTH,), auth.handle_auth, 0),
    ((Op.SASL_STEP,), auth.handle_step, 0),
    ((Op.GET_ERROR_MAP,), error_map.handle_get_error_map, 0),
]

#: opcode -> (handler, needs)
HANDLERS: dict[int, tuple[Handler, int]] = {
    int(opcode): (handler, needs) for opcodes, handler, needs in _ENTRIES for opcode in opcodes
}
