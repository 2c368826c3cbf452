"""Mapping one slice of a full build into collated, sorted rows per view.

The serial build and every slice of a threaded build run this same function on their
part of the bucket's records, so their rows and errors are identical by construction:
each part picks its own live documents, and its errors name documents by id, sorted by
position and view, so that the order never depends on how the records were split.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..engine.item import Record
from .collation import C_COLLATE, sort_key
from .index import Row
from .js import JsRuntime
from .map_batch import MAP_BATCH, map_documents
from .meta import live_documents

#: Rows of every view, each list sorted, and errors ``[doc_id, view, reason]``.
Part = tuple[list[list[Row]], list[list[Any]]]
#: ``rows(entries, docs, view_count)``: the rows of each view, in emit order.
Rows = Callable[[Sequence[Sequence[Any]], Sequence[tuple[str, Record]], int], list[list[Row]]]


def python_rows(entries: Sequence[Sequence[Any]], docs: Sequence[tuple[str, Record]],
                view_count: int) -> list[list[Row]]:
    """Return the rows of the emits ``[doc, view, n, key, value]`` per view (the reference)."""
    rows: list[list[Row]] = [[] for _ in range(view_count)]
    for doc, view, n, key, value in entries:
        rows[view].append((sort_key(key), docs[doc][0], n, key, value))
    return rows


#: The rows step: C when the collation extension is in use, else :func:`python_rows`.
ROWS: Rows = python_rows if C_COLLATE is None else C_COLLATE.rows


def build_part(runtime: JsRuntime, records: Sequence[tuple[bytes, Record]], now: float,
               start: int, stop: int) -> Part:
    """Map the documents of ``records[start:stop]`` live at ``now``; return rows and errors.

    Batch by batch: each batch's rows are collated right after it is mapped, so no single
    call holds the interpreter lock for a whole slice (requests on the event loop wait
    for it) and collating one batch overlaps the other thread's mapping.
    """
    docs = live_documents(records[start:stop], now)
    rows: list[list[Row]] = [[] for _ in range(runtime.view_count)]
    errors: list[list[Any]] = []
    for at in range(0, len(docs), MAP_BATCH):
        batch = docs[at:at + MAP_BATCH]
        result = map_documents(runtime, batch)
        for view_rows, batch_rows in zip(rows, ROWS(result.rows, batch, runtime.view_count)):
            view_rows.extend(batch_rows)
        errors.extend([batch[doc][0], view, reason] for doc, view, reason in sorted(result.errors))
    for view_rows in rows:
        view_rows.sort()
    return rows, errors
