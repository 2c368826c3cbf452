"""Turns flusher batches into SQLite commits: newest state per key, rows, CAS/seqno counters."""
from __future__ import annotations

import sqlite3
from typing import Any

from .log_record import pairs
from .store import I64_MAX, ROW_FIELDS, BucketStore, MetaOp, to_sql_u64


class BatchWriter:
    """Turns commit messages into :meth:`BucketStore.commit` calls; keeps the counters."""

    def __init__(self, store: BucketStore) -> None:
        self.store = store
        self.max_cas = store.counter("max_cas")
        self.max_seqno = store.counter("max_seqno")

    def commit(self, message: tuple) -> tuple:
        """Apply one commit message (see ``Flusher._persist``; its entries are flat, see
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

    def apply_rows(self, upserts: list, deletes: list, max_cas: int, seqno: int) -> int:
        """Commit rows the fold built (:func:`.batch_codec.coalesce`: flat upserts as
        :meth:`BucketStore.commit` takes them, deleted keys, the highest CAS among them)
        in one transaction; return the rows written. Raises sqlite3.Error after a
        rollback."""
        max_cas = max(self.max_cas, max_cas)
        counters = {"max_cas": max_cas, "max_seqno": seqno} if seqno > self.max_seqno else {}
        self.store.commit(truncate=False, upserts=upserts, deletes=deletes, meta=[],
                          counters=counters, purge_before=None)
        self.max_cas = max_cas
        self.max_seqno = max(self.max_seqno, seqno)
        return len(upserts) // ROW_FIELDS + len(deletes)

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
        return purged, len(upserts) // ROW_FIELDS + len(deletes)


def _rows(newest: dict[bytes, Any], max_cas: int) -> tuple[list, list, int]:
    """Split the newest state per key into upserts (flat, as :meth:`BucketStore.commit`
    takes them; CAS as SQLite's signed INTEGER) and deleted keys, and return the highest
    CAS seen. A batch of writes only, with CAS values SQLite takes as they are (the
    usual case), is turned into columns by one ``zip`` (engine records,
    ``cbserver.engine.item``, are 7-tuples) and laid out column by column, without a
    Python loop and without a tuple per row.

    Keys and values go in as ``bytearray`` copies: ``sqlite3`` binds a bytearray as a
    BLOB at once but sends every ``bytes`` parameter through its adapter lookup first,
    which fails by raising and formatting an AttributeError (Callgrind: ~1,800
    instructions per parameter, several times the copy).
    """
    upserts: list = []
    states = list(newest.values())
    if states and int not in set(map(type, states)):
        values, flag_values, cas_values, datatypes, seqnos, expiries, _ = zip(*states)
        batch_max_cas = max(cas_values)
        if batch_max_cas <= I64_MAX:
            upserts = [None] * (ROW_FIELDS * len(states))
            upserts[0::ROW_FIELDS] = map(bytearray, newest)
            upserts[1::ROW_FIELDS] = map(bytearray, values)
            upserts[2::ROW_FIELDS] = flag_values
            upserts[3::ROW_FIELDS] = expiries
            upserts[4::ROW_FIELDS] = cas_values
            upserts[5::ROW_FIELDS] = datatypes
            upserts[6::ROW_FIELDS] = seqnos
            return upserts, [], max(max_cas, batch_max_cas)
    deletes: list = []
    for key, state in newest.items():
        if state.__class__ is int:
            deletes.append(bytearray(key))
            continue
        value, flags, cas, datatype, seqno, expiry, _ = state
        if cas > max_cas:
            max_cas = cas
        upserts += (bytearray(key), bytearray(value), flags, expiry, to_sql_u64(cas), datatype,
                    seqno)
    return upserts, deletes, max_cas
