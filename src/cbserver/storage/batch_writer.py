"""Turns folded batches into SQLite commits: rows, deleted keys, CAS/seqno counters."""
from __future__ import annotations

import sqlite3

from .batch_codec import coalesce
from .store import ROW_FIELDS, BucketStore, MetaOp


class BatchWriter:
    """Turns commit messages and folds into :meth:`BucketStore.commit` calls; keeps the
    counters."""

    def __init__(self, store: BucketStore) -> None:
        self.store = store
        self.max_cas = store.counter("max_cas")
        self.max_seqno = store.counter("max_seqno")

    def commit(self, message: tuple) -> tuple:
        """Apply one commit message (see ``Flusher._persist``; its writes and deletes
        come as one layout 3 payload, see :mod:`.batch_codec`) and answer ``("ok", rows
        written)`` or ``("error", text)`` after a rollback."""
        _, truncate, seqno, payload, meta = message
        folded = coalesce([payload])
        try:
            _, rows = self.apply_rows(folded.upserts, folded.deletes, folded.max_cas, seqno,
                                      truncate=truncate, meta=[MetaOp(*op) for op in meta])
        except sqlite3.Error as exc:
            return ("error", f"{type(exc).__name__}: {exc}")
        return ("ok", rows)

    def purge(self, before: int) -> int:
        """Delete the rows whose expiry is ``before`` or earlier, in one transaction, and
        return how many (the expiry pager); raises sqlite3.Error after a rollback."""
        purged, _ = self.apply_rows([], [], 0, 0, purge_before=before)
        return purged

    def apply_rows(self, upserts: list, deletes: list, max_cas: int, seqno: int, *,
                   truncate: bool = False, purge_before: int | None = None,
                   meta: list[MetaOp] | None = None) -> tuple[int, int]:
        """Commit rows the fold built (:func:`.batch_codec.coalesce`: flat upserts as
        :meth:`BucketStore.commit` takes them, deleted keys, the highest CAS among them)
        in one transaction; return (rows the pager purged, rows written). Raises
        sqlite3.Error after a rollback."""
        max_cas = max(self.max_cas, max_cas)
        counters = {"max_cas": max_cas, "max_seqno": seqno} if seqno > self.max_seqno else {}
        purged = self.store.commit(truncate=truncate, upserts=upserts, deletes=deletes,
                                   meta=meta or [], counters=counters,
                                   purge_before=purge_before)
        self.max_cas = max_cas
        self.max_seqno = max(self.max_seqno, seqno)
        return purged, len(upserts) // ROW_FIELDS + len(deletes)
