"""Mapping one slice of a full build into collated, sorted rows per view.

Both the serial build and every forked build worker run this same function, so their
rows and errors are identical by construction; the errors are sorted by document
position and view so that the order never depends on how the documents were split.
"""
from __future__ import annotations

from typing import Any, Sequence

from .collation import sort_key
from .index import Row
from .js import JsRuntime
from .map_batch import map_documents
from ..engine.item import Record

#: Rows of every view, each list sorted, and errors ``[doc, view, reason]``.
Part = tuple[list[list[Row]], list[list[Any]]]


def build_part(runtime: JsRuntime, docs: Sequence[tuple[str, Record]],
               start: int, stop: int) -> Part:
    """Map ``docs[start:stop]``; return sorted rows per view and errors at positions of ``docs``."""
    span = docs[start:stop]
    result = map_documents(runtime, span)
    rows: list[list[Row]] = [[] for _ in range(runtime.view_count)]
    for doc, view, n, key, value in result.rows:
        rows[view].append((sort_key(key), span[doc][0], n, key, value))
    for view_rows in rows:
        view_rows.sort()
    errors = sorted([start + doc, view, reason] for doc, view, reason in result.errors)
    return rows, errors
