"""Mapping one slice of a full build into collated, sorted rows per view.

Both the serial build and every forked build worker run this same function on a slice of
the bucket's records, so their rows and errors are identical by construction; each part
picks its own live documents, and its errors name documents by id, sorted by position
and view, so that the order never depends on how the records were split.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..engine.item import Record
from .collation import sort_key
from .index import Row
from .js import JsRuntime
from .map_batch import map_documents
from .meta import live_documents

#: Rows of every view, each list sorted, and errors ``[doc_id, view, reason]``.
Part = tuple[list[list[Row]], list[list[Any]]]


def build_part(runtime: JsRuntime, records: Sequence[tuple[bytes, Record]], now: float,
               start: int, stop: int) -> Part:
    """Map the documents of ``records[start:stop]`` live at ``now``; return rows and errors."""
    docs = live_documents(records[start:stop], now)
    result = map_documents(runtime, docs)
    rows: list[list[Row]] = [[] for _ in range(runtime.view_count)]
    for doc, view, n, key, value in result.rows:
        rows[view].append((sort_key(key), docs[doc][0], n, key, value))
    for view_rows in rows:
        view_rows.sort()
    errors = [[docs[doc][0], view, reason] for doc, view, reason in sorted(result.errors)]
    return rows, errors
