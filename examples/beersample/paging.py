"""Keyset pagination over a view: pages start at (startkey, startkey_docid), never skip."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from couchbase.views.params import Query

from beersample.rows import CursorRowProcessor

MAX_CURSOR_LENGTH = 2000


class BadCursor(ValueError):
    """Raised when the page position in a URL cannot be read."""


@dataclass(frozen=True)
class Cursor:
    """A position in a view: the key and document id of a page's first row."""

    key: Any
    docid: str

    def as_args(self) -> dict[str, str]:
        """Return the URL arguments that name this position."""
        return {"start": json.dumps(self.key, ensure_ascii=False), "docid": self.docid}

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "Cursor | None":
        """Read a position from URL arguments; None means the first page."""
        start, docid = args.get("start"), args.get("docid")
        if start is None and docid is None:
            return None
        if not start or not docid or len(start) + len(docid) > MAX_CURSOR_LENGTH:
            raise BadCursor("a page position needs both 'start' and 'docid'")
        try:
            return cls(json.loads(start), docid)
        except ValueError as exc:
            raise BadCursor(f"'start' is not JSON: {exc}") from exc


@dataclass
class Page:
    """One page of entities plus the URL arguments of its neighbours (None: no such page)."""

    items: list[Any]
    next_args: dict[str, str] | None
    prev_args: dict[str, str] | None


def _query(limit: int, stale: Any, cursor: Cursor | None, descending: bool) -> Query:
    """Build the view query for `limit` rows from `cursor` on."""
    query = Query(limit=limit, stale=stale)
    if descending:
        query.descending = True
    if cursor is not None:
        query.startkey = cursor.key
        query.startkey_docid = cursor.docid
    return query


def fetch_page(db: Any, design: str, view: str, row_processor: Any, per_page: int,
               cursor: Cursor | None, stale: Any) -> Page:
    """Fetch the page that starts at `cursor` and work out the previous and next pages."""
    items = list(db.query(design, view, row_processor=row_processor,
                          query=_query(per_page + 1, stale, cursor, False)))
    next_args = None
    if len(items) > per_page:
        following = items[per_page]
        next_args = Cursor(following.key, following.id).as_args()
        items = items[:per_page]
    return Page(items, next_args, _previous(db, design, view, per_page, cursor, stale))


def _previous(db: Any, design: str, view: str, per_page: int,
              cursor: Cursor | None, stale: Any) -> dict[str, str] | None:
    """Walk backwards from `cursor` to find where the previous page starts."""
    if cursor is None:
        return None
    rows = list(db.query(design, view, row_processor=CursorRowProcessor(),
                         query=_query(per_page + 2, stale, cursor, True)))
    before = [row for row in rows if row != (cursor.key, cursor.docid)]
    if not before:
        return None
    if len(before) <= per_page:
        return {}
    key, docid = before[per_page - 1]
    return Cursor(key, docid).as_args()
