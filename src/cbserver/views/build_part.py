"""Mapping one slice of a full build into collated, sorted rows per view.

The serial build and every slice of a threaded build run this same function on their
part of the bucket's records, so their rows and errors are identical by construction; each part
picks its own live documents, and its errors name documents by id, sorted by position
and view, so that the order never depends on how the records were split.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..engine.item import Record
from .collation import C_COLLATE, sort_key
from .index import Row
from .js import JsRuntime
from .map_batch import map_documents
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
    """Map the documents of ``records[start:stop]`` live at ``now``; return rows and errors."""
    docs = live_documents(records[start:stop], now)
    result = map_documents(runtime, docs)
    rows = ROWS(result.rows, docs, runtime.view_count)
    for view_rows in rows:
        view_rows.sort()
    errors = [[docs[doc][0], view, reason] for doc, view, reason in sorted(result.errors)]
    return rows, errors
