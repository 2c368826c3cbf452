"""The sorted index of one view: rows ordered by (collated key, doc id), updated per doc.

Rows are tuples ``(sort_key, doc_id, n, key, value)``: ``sort_key`` is the collation
byte string of ``key`` and ``n`` the emit's position within its document, so tuple order
is the view order and every tuple is unique.  The state is a plain mapping of doc id to
emits (``snapshot``/``restore``), so it can be saved and loaded without running maps.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator

from sortedcontainers import SortedList

from .collation import sort_key

Row = tuple  # (sort_key: bytes, doc_id: str, n: int, key, value)
Bound = tuple  # a prefix of a Row used for bisection

#: Bound below every row.
LOWEST: Bound = ()
#: Bound above every row (no sort key starts with 0xff).
HIGHEST: Bound = (b"\xff",)
#: Rows fetched from the sorted list per step of a scan.
SCAN_CHUNK = 256


def make_row(doc_id: str, n: int, key: Any, value: Any) -> Row:
    """Return the index row of the ``n``-th emit of a document."""
    return (sort_key(key), doc_id, n, key, value)


def lower_bound(key: Any, doc_id: str | None) -> Bound:
    """Bound just below the rows of ``key`` (from ``doc_id`` on, if given)."""
    sk = sort_key(key)
    return (sk,) if doc_id is None else (sk, doc_id)


def upper_bound(key: Any, doc_id: str | None) -> Bound:
    """Bound just above the rows of ``key`` (up to and including ``doc_id``, if given)."""
    sk = sort_key(key)
    return (sk + b"\xff",) if doc_id is None else (sk, doc_id, math.inf)


class ViewIndex:
    """Rows of one view in collation order, with the rows of each document for updates."""

    def __init__(self) -> None:
        self._rows: SortedList = SortedList()
        self._by_doc: dict[str, list[Row]] = {}

    def __len__(self) -> int:
        """Return the number of rows (the view's ``total_rows``)."""
        return len(self._rows)

    def doc_ids(self) -> Iterable[str]:
        """Return the ids of the documents that emitted at least one row."""
        return self._by_doc.keys()

    def set_doc(self, doc_id: str, rows: list[Row]) -> None:
        """Replace the rows of a document by ``rows`` (built by :func:`make_row`)."""
        old = self._by_doc.pop(doc_id, None)
        if old:
            for row in old:
                self._rows.remove(row)
        if rows:
            self._by_doc[doc_id] = rows
            self._rows.update(rows)

    def remove_doc(self, doc_id: str) -> None:
        """Drop every row of a deleted or expired document."""
        self.set_doc(doc_id, [])

    def load_rows(self, rows: list[Row]) -> None:
        """Replace the whole index with ``rows`` in one sort (a full build)."""
        by_doc = {row[1]: [row] for row in rows}
        if len(by_doc) < len(rows):
            by_doc = {}
            for row in rows:
                emitted = by_doc.get(row[1])
                if emitted is None:
                    by_doc[row[1]] = [row]
                else:
                    emitted.append(row)
        self._by_doc = by_doc
        self._rows = SortedList(rows)

    def snapshot(self) -> dict[str, list[list[Any]]]:
        """Return the plain, serialisable state: doc id -> list of ``[key, value]``."""
        return {doc_id: [[row[3], row[4]] for row in rows] for doc_id, rows in self._by_doc.items()}

    def restore(self, state: dict[str, list[list[Any]]]) -> None:
        """Load a state made by ``snapshot`` (no map function runs)."""
        self.load_rows([make_row(doc_id, n, key, value) for doc_id, emits in state.items()
                        for n, (key, value) in enumerate(emits)])

    def scan(self, low: Bound, high: Bound, descending: bool = False,
             accept: Callable[[str], bool] | None = None) -> Iterator[Row]:
        """Yield rows with ``low <= row < high`` in view (or reverse) order.

        The scan re-bisects from the last row it yielded on every chunk, so documents
        updated while a large result streams never make it repeat or skip other rows.
        """
        rows = self._rows
        last: Row | None = None
        while True:
            if descending:
                stop = rows.bisect_left(last) if last is not None else rows.bisect_left(high)
                start = max(rows.bisect_left(low), stop - SCAN_CHUNK)
                chunk = list(rows.islice(start, stop, reverse=True))
            else:
                start = rows.bisect_right(last) if last is not None else rows.bisect_left(low)
                stop = min(rows.bisect_left(high), start + SCAN_CHUNK)
                chunk = list(rows.islice(start, stop))
            if not chunk:
                return
            last = chunk[-1]
            for row in chunk:
                if accept is None or accept(row[1]):
                    yield row
