"""Turns flusher batches into SQLite commits: newest state per key, rows, CAS/seqno counters."""
from __future__ import annotations

import operator
import sqlite3
from typing import Any

from .log_record import pairs
from .store import I64_MAX, BucketStore, MetaOp, to_sql_u64

#: Engine record fields (``cbserver.engine.item``) in the order of a row after its key.
_ROW_OF = operator.itemgetter(0, 1, 5, 2, 3, 4)
_CAS_OF = operator.itemgetter(2)


class BatchWriter:
    """Turns commit messages into :meth:`BucketStore.commit` calls; keeps the counters."""

    def __init__(self, store: BucketStore) -> None:
        self.store = store
        self.max_cas = 0
        self.max_seqno = 0
        self.reload_counters()

    def reload_counters(self) -> None:
        """Re-read the CAS and seqno counters, which another connection to the same file
        (the background fold) may have raised since this writer last committed."""
        self.max_cas = self.store.counter("max_cas")
        self.max_seqno = self.store.counter("max_seqno")

    def commit(self, message: tuple) -> tuple:
        """Apply one commit message (see ``Flusher._encode``; its entries are flat, see
        :mod:`.log_record`) and answer ``("ok", purged, rows written)`` or ``("error",
        text)`` after a rollback."""
        _, truncate, purge_before, seqno, entries, meta = message
        try:
            purged, rows = self.apply(dict(pairs(entries)), seqno, truncate=truncate,
                                      purge_before=purge_before,
                                      meta=[MetaOp(*op) for op in meta])
        except sqlite3.Error as exc:
            return ("error", f"{type(exc).__name__}: {exc}")
        return ("ok", purged, rows)

    def apply(self, newest: dict[bytes, Any], seqno: int, *, truncate: bool = False,
              purge_before: int | None = None, meta: list[MetaOp] | None = None
              ) -> tuple[int, int]:
        """Commit the newest state per key in one transaction; return (purged, rows).

        ``newest`` maps a key to its engine record, or to the delete's seqno (an int);
        built from entries in mutation order, the last entry of a key is its state.
        Unpacking records into rows happens here, off the server's cores. Raises
        sqlite3.Error after a rollback.
        """
        upserts, deletes, max_cas = _rows(newest, self.max_cas)
        counters = {}
        if seqno > self.max_seqno:
            counters = {"max_cas": max_cas, "max_seqno": seqno}
        purged = self.store.commit(truncate=truncate, upserts=upserts, deletes=deletes,
                                   meta=meta or [], counters=counters,
                                   purge_before=purge_before)
        self.max_cas = max_cas
        self.max_seqno = max(self.max_seqno, seqno)
        return purged, len(upserts) + len(deletes)


def _rows(newest: dict[bytes, Any], max_cas: int) -> tuple[list[tuple], list[tuple], int]:
    """Split the newest state per key into upsert rows (key, value, flags, expiry, cas,
    datatype, seqno; CAS as SQLite's signed INTEGER) and delete rows, and return the
    highest CAS seen. A batch of writes only, with CAS values SQLite takes as they are
    (the usual case), is converted by C-level ``map`` calls, without a Python loop."""
    states = list(newest.values())
    if states and int not in set(map(type, states)):
        batch_max_cas = max(map(_CAS_OF, states))
        if batch_max_cas <= I64_MAX:
            rows = list(map(operator.add, zip(newest), map(_ROW_OF, states)))
            return rows, [], max(max_cas, batch_max_cas)
    upserts: list[tuple] = []
    deletes: list[tuple] = []
    for key, state in newest.items():
        if state.__class__ is int:
            deletes.append((key,))
            continue
        value, flags, cas, datatype, seqno, expiry, _ = state
        if cas > max_cas:
            max_cas = cas
        upserts.append((key, value, flags, expiry, to_sql_u64(cas), datatype, seqno))
    return upserts, deletes, max_cas
