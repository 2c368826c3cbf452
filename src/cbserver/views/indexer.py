"""Index maintenance of one design document: full builds and incremental per-doc updates."""
from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

from .ddocs import DesignDocument
from .index import ViewIndex
from .js import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, JsRuntime, MapInput
from .meta import ItemLike, base64_input, decode_doc_id, is_live, json_input
from .reduce import JsReducer, Reducer, builtin_reducer

log = logging.getLogger(__name__)

#: Documents mapped per JavaScript call.
MAP_BATCH = 500
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

    def _map(self, docs: Sequence[tuple[str, ItemLike]]) -> list[tuple[str, list[Any]]]:
        """Map live documents; return per doc id the emits (or error string) of each view."""
        inputs: list[tuple[str, ItemLike, MapInput]] = []
        for doc_id, item in docs:
            entry = json_input(doc_id, item)
            inputs.append((doc_id, item, entry if entry is not None else base64_input(doc_id, item)))
        results: list[tuple[str, list[Any]]] = []
        for start in range(0, len(inputs), MAP_BATCH):
            chunk = inputs[start:start + MAP_BATCH]
            outputs = self.runtime.map([entry for _, _, entry in chunk])
            retry = [(i, base64_input(doc_id, item)) for i, ((doc_id, item, _), out)
                     in enumerate(zip(chunk, outputs)) if out == 0]
            if retry:
                for (i, _), out in zip(retry, self.runtime.map([entry for _, entry in retry])):
                    outputs[i] = out
            results.extend((doc_id, out) for (doc_id, _, _), out in zip(chunk, outputs))
        return results

    def _record(self, doc_id: str, per_view: list[Any]) -> list[list[Any]]:
        """Remember or clear the map errors of a document; return emits per view."""
        failed = [(name, out) for name, out in zip(self.view_names, per_view) if isinstance(out, str)]
        self.errors.pop(doc_id, None)
        if failed:
            self.errors[doc_id] = "; ".join(f"view `{name}`: {reason}" for name, reason in failed)
            while len(self.errors) > MAX_ERRORS:
                self.errors.pop(next(iter(self.errors)))
        return [out if isinstance(out, list) else [] for out in per_view]

    def build(self, items: Iterable[tuple[bytes, ItemLike]], now: float | None = None) -> None:
        """Index every item live at ``now`` from scratch (new or changed design document)."""
        docs = [(doc_id, item) for doc_id, item in
                ((decode_doc_id(key), item) for key, item in items)
                if doc_id is not None and is_live(item, now)]
        per_view: list[dict[str, list[Any]]] = [{} for _ in self.view_names]
        self.errors.clear()
        for doc_id, outputs in self._map(docs):
            for emits_by_view, emits in zip(per_view, self._record(doc_id, outputs)):
                if emits:
                    emits_by_view[doc_id] = emits
        for name, emits_by_doc in zip(self.view_names, per_view):
            self.views[name].load(emits_by_doc)
        self.builds += 1
        log.info("built index of %s: %d documents", self.ddoc.doc_id, len(docs))

    def apply(self, changes: Sequence[tuple[bytes, ItemLike | None]], now: float | None = None) -> None:
        """Apply mutations and deletions (None or expired item) to every view."""
        live: list[tuple[str, ItemLike]] = []
        for key, item in changes:
            doc_id = decode_doc_id(key)
            if doc_id is None:
                continue
            if is_live(item, now):
                live.append((doc_id, item))
            else:
                self.errors.pop(doc_id, None)
                for view in self.views.values():
                    view.remove_doc(doc_id)
        for doc_id, outputs in self._map(live):
            for view, emits in zip(self.views.values(), self._record(doc_id, outputs)):
                view.set_doc(doc_id, emits)
        self.updates += len(changes)

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
