"""Index maintenance of one design document: full builds and incremental per-doc updates."""
from __future__ import annotations

import logging
import time
from typing import Any, Iterable, Sequence

from ..engine.item import SEQNO, Record
from .build_part import build_part
from .ddocs import DesignDocument
from .index import Row, ViewIndex, make_row
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, JsRuntime
from .map_batch import map_documents
from .meta import decode_doc_id, is_live
from .parallel_build import PARALLEL_MIN_DOCS, WORKERS, parallel_build
from .reduce import JsReducer, Reducer, builtin_reducer

log = logging.getLogger(__name__)

#: Map errors remembered per design document (oldest dropped first).
MAX_ERRORS = 100


class DesignIndex:
    """The indexes of every view of one design document, kept current doc by doc."""

    def __init__(self, ddoc: DesignDocument, time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        self.ddoc = ddoc
        self.signature = ddoc.signature
        self.view_names = list(ddoc.views)
        js_reduces = {i: v.reduce for i, v in enumerate(ddoc.views.values())
                      if v.reduce is not None and builtin_reducer(v.reduce) is None}
        self.runtime = JsRuntime([v.map for v in ddoc.views.values()], js_reduces,
                                 time_limit, memory_limit)
        self.views: dict[str, ViewIndex] = {name: ViewIndex() for name in self.view_names}
        self.reducers: dict[str, Reducer] = {}
        for i, view in enumerate(ddoc.views.values()):
            if view.reduce is not None:
                reducer = builtin_reducer(view.reduce) or JsReducer(self.runtime, i)
                self.reducers[view.name] = reducer
        self.errors: dict[str, str] = {}
        self.workers = WORKERS
        self.parallel_min_docs = PARALLEL_MIN_DOCS
        self.builds = 0
        self.updates = 0

    def _record(self, errors: Sequence[Sequence[Any]]) -> None:
        """Remember map errors ``[doc_id, view, reason]`` per document (oldest dropped first)."""
        failed: dict[str, list[str]] = {}
        for doc_id, view, reason in errors:
            failed.setdefault(doc_id, []).append(f"view `{self.view_names[view]}`: {reason}")
        for doc_id, reasons in failed.items():
            self.errors[doc_id] = "; ".join(reasons)
        while len(self.errors) > MAX_ERRORS:
            self.errors.pop(next(iter(self.errors)))

    def build(self, records: Sequence[tuple[bytes, Record]], now: float | None = None) -> None:
        """Index every record live at ``now`` from scratch (new or changed design document)."""
        started = time.perf_counter()
        now = time.time() if now is None else now
        workers = self.workers if len(records) >= self.parallel_min_docs else 1
        rows, errors = (parallel_build(self.runtime, records, now, workers) if workers > 1
                        else build_part(self.runtime, records, now, 0, len(records)))
        self.errors.clear()
        self._record(errors)
        for name, view_rows in zip(self.view_names, rows):
            self.views[name].load_rows(view_rows)
        self.builds += 1
        seconds = time.perf_counter() - started
        log.info("built index of %s: %d records in %.3f s (%.0f records/s, %d thread%s)",
                 self.ddoc.doc_id, len(records), seconds,
                 len(records) / seconds if seconds else 0.0, workers, "" if workers == 1 else "s")

    def apply(self, changes: Sequence[tuple[bytes, Record | None]],
              now: float | None = None) -> None:
        """Apply mutations and deletions (None or expired record) to every view."""
        now = time.time() if now is None else now
        live: list[tuple[str, Record]] = []
        for key, record in changes:
            doc_id = decode_doc_id(key)
            if doc_id is None:
                continue
            self.errors.pop(doc_id, None)
            if is_live(record, now):
                live.append((doc_id, record))
            else:
                for view in self.views.values():
                    view.remove_doc(doc_id)
        doc_ids = [doc_id for doc_id, _ in live]
        result = map_documents(self.runtime, live)
        rows: list[dict[int, list[Row]]] = [{} for _ in self.view_names]
        for doc, view, n, key, value in result.rows:
            rows[view].setdefault(doc, []).append(make_row(doc_ids[doc], n, key, value))
        for index, view_rows in zip(self.views.values(), rows):
            for doc, doc_id in enumerate(doc_ids):
                index.set_doc(doc_id, view_rows.get(doc, []))
        self._record([[doc_ids[doc], view, reason] for doc, view, reason in result.errors])
        self.updates += len(changes)

    def catch_up(self, records: Iterable[tuple[bytes, Record]], seqno: int,
                 now: float | None = None) -> int:
        """Bring an index current up to ``seqno`` in line with ``records``; return the changes.

        Documents changed after ``seqno`` are mapped again, indexed documents no longer in
        ``records`` are removed; nothing else runs a map function.
        """
        now = time.time() if now is None else now
        records = list(records)
        present = {key for key, record in records if is_live(record, now)}
        changes: list[tuple[bytes, Record | None]] = [
            (key, record) for key, record in records if record[SEQNO] > seqno]
        indexed = {doc_id for view in self.views.values() for doc_id in view.doc_ids()}
        changes.extend((key, None) for key in map(str.encode, indexed) if key not in present)
        if changes:
            self.apply(changes, now)
        return len(changes)

    def snapshot(self) -> dict[str, Any]:
        """Return the plain, serialisable state of every view of this design document."""
        return {"signature": self.signature,
                "views": {name: view.snapshot() for name, view in self.views.items()}}

    def restore(self, state: dict[str, Any]) -> bool:
        """Load a snapshot if it belongs to the same views; tell whether it was used."""
        if state.get("signature") != self.signature or set(state["views"]) != set(self.views):
            return False
        for name, view_state in state["views"].items():
            self.views[name].restore(view_state)
        return True
