"""Index maintenance of one design document: full builds and incremental per-doc updates."""
from __future__ import annotations

import logging
import time
from typing import Any, Iterable, Sequence

from .collation import sort_key
from .ddocs import DesignDocument
from .index import Row, ViewIndex, make_row
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, JsRuntime
from .map_batch import MapResult, map_documents
from .meta import ItemLike, decode_doc_id, is_live, live_documents
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
                self.reducers[view.name] = builtin_reducer(view.reduce) or JsReducer(self.runtime, i)
        self.errors: dict[str, str] = {}
        self.builds = 0
        self.updates = 0

    def _record(self, doc_ids: Sequence[str], result: MapResult) -> None:
        """Remember the map errors of ``result`` per document (oldest dropped first)."""
        failed: dict[str, list[str]] = {}
        for doc, view, reason in result.errors:
            failed.setdefault(doc_ids[doc], []).append(f"view `{self.view_names[view]}`: {reason}")
        for doc_id, reasons in failed.items():
            self.errors[doc_id] = "; ".join(reasons)
        while len(self.errors) > MAX_ERRORS:
            self.errors.pop(next(iter(self.errors)))

    def build(self, items: Iterable[tuple[bytes, ItemLike]], now: float | None = None) -> None:
        """Index every item live at ``now`` from scratch (new or changed design document)."""
        started = time.perf_counter()
        docs = live_documents(items, time.time() if now is None else now)
        doc_ids = [doc_id for doc_id, _ in docs]
        result = map_documents(self.runtime, docs)
        rows: list[list[Row]] = [[] for _ in self.view_names]
        for doc, view, n, key, value in result.rows:
            rows[view].append((sort_key(key), doc_ids[doc], n, key, value))
        self.errors.clear()
        self._record(doc_ids, result)
        for name, view_rows in zip(self.view_names, rows):
            self.views[name].load_rows(view_rows)
        self.builds += 1
        seconds = time.perf_counter() - started
        log.info("built index of %s: %d documents in %.3f s (%.0f docs/s)", self.ddoc.doc_id,
                 len(docs), seconds, len(docs) / seconds if seconds else 0.0)

    def apply(self, changes: Sequence[tuple[bytes, ItemLike | None]], now: float | None = None) -> None:
        """Apply mutations and deletions (None or expired item) to every view."""
        live: list[tuple[str, ItemLike]] = []
        for key, item in changes:
            doc_id = decode_doc_id(key)
            if doc_id is None:
                continue
            self.errors.pop(doc_id, None)
            if is_live(item, now):
                live.append((doc_id, item))
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
        self._record(doc_ids, result)
        self.updates += len(changes)

    def catch_up(self, items: Iterable[tuple[bytes, ItemLike]], seqno: int,
                 now: float | None = None) -> int:
        """Bring an index current up to ``seqno`` in line with ``items``; return the changes.

        Documents changed after ``seqno`` are mapped again, indexed documents no longer in
        ``items`` are removed; nothing else runs a map function.
        """
        items = list(items)
        present = {key for key, _ in items}
        changes: list[tuple[bytes, ItemLike | None]] = [
            (key, item) for key, item in items if item.seqno > seqno]
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
