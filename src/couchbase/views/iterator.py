"""Lazy iteration over the rows of a view query.

A ``View`` sends nothing until it is iterated, and it talks to its parent
connection only through this contract (the I/O layer implements it):

* ``parent._view(design, view, params=query)`` performs one non-streaming GET of
  ``make_dvpath(design, view) + query.encoded`` and returns an ``HttpResult``
  whose ``value`` is the decoded JSON response (a dict with ``rows`` and the
  meta keys such as ``total_rows`` and ``errors``). It raises ``HTTPError`` for a
  4xx/5xx answer.
* ``parent._http_request(type=LCB_HTTP_TYPE_VIEW, method=LCB_HTTP_METHOD_GET,
  path=..., chunked=True, fetch_headers=True, quiet=False)`` starts a streaming
  request and returns an ``HttpResult`` at once. Each ``result._fetch()`` reads
  more of the response and returns the list of row JSON strings completed
  since the previous call — possibly empty when a chunk ended mid-row — and
  returns ``None`` once the response has ended; by then ``result.value`` holds
  the response's meta dict (the JSON without its rows). ``_fetch()`` raises
  ``HTTPError`` (or the rc's class) when the request fails.
* ``parent.get_multi(ids, quiet=True)`` fetches the documents of one page of
  rows when ``include_docs`` is set.

The View holds its parent strongly (the connection must outlive a pending query)
but nothing in the connection or the results points back at the View, so no
reference cycle outlives it.
"""
from __future__ import annotations

import copy
import json
import warnings
from collections import namedtuple
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qs

from .._libcouchbase import LCB_HTTP_METHOD_GET, LCB_HTTP_TYPE_VIEW
from ..exceptions import ArgumentError, CouchbaseError, ViewEngineError
from .params import ONERROR_CONTINUE, Query, make_dvpath


class AlreadyQueriedError(CouchbaseError):
    """The View was already iterated; each View runs its query once."""


class ViewRow(namedtuple("ViewRow", ["key", "value", "docid", "doc"])):
    """One row of a view result: emitted key and value, document id, document."""

    __slots__ = ()

    @property
    def id(self) -> Any:
        """The document id, under the name the 1.0 manual uses."""
        return self.docid


class RowProcessor:
    """Turns a page of decoded rows into ``rowclass`` objects, fetching docs if asked."""

    def __init__(self, rowclass: type = ViewRow) -> None:
        self.rowclass = rowclass

    def handle_rows(self, rows: list[dict[str, Any]], connection: Any,
                    include_docs: bool) -> Iterable[Any]:
        """Yield one ``rowclass`` per row; with include_docs, one get_multi per page."""
        docs: Any = {}
        if include_docs:
            ids = tuple(dict.fromkeys(row["id"] for row in rows if row.get("id") is not None))
            if ids:
                docs = connection.get_multi(ids, quiet=True)
        for row in rows:
            docid = row.get("id")
            doc = None
            if include_docs:
                doc = docs.get(docid)
                if doc is None:
                    warnings.warn(f"Document {docid!r} of a view row was not fetched",
                                  stacklevel=2)
            yield self.rowclass(row.get("key"), row.get("value"), docid, doc)


def _truthy_option(query: Query, name: str) -> bool:
    """Whether an option is set to something that enables it."""
    value = query._real_options.get(name)
    return value not in (None, "", "0", "false")


class View:
    """An iterable view query; rows are fetched when iteration starts."""

    def __init__(self, parent: Any, design: str, view: str, row_processor: Any = None,
                 streaming: Any = 0, include_docs: bool = False, query: Any = None,
                 **params: Any) -> None:
        if query is not None and params:
            raise ArgumentError.pyexc(
                f"View {design}/{view}: pass options either in query or as keywords, "
                f"not both", obj=params)
        self._parent = parent
        self.design = design
        self.view = view
        self.row_processor = row_processor if row_processor is not None else RowProcessor()
        self._streaming = bool(streaming)
        self.include_docs = include_docs
        if isinstance(query, Query):
            self._query = copy.deepcopy(query)
        else:
            self._query = Query.from_any(params if query is None else query)
        if include_docs and any(_truthy_option(self._query, name)
                                for name in ("reduce", "group", "group_level")):
            raise ArgumentError.pyexc(
                f"View {design}/{view}: include_docs cannot be used with reduce or group",
                obj=self._query)
        self.errors: list[Any] = []
        self.raw: Any = None
        self.rows_returned = 0
        self.indexed_rows = 0
        self._queried = False

    @property
    def streaming(self) -> bool:
        """Whether rows are read incrementally instead of in one response."""
        return self._streaming

    @property
    def query(self) -> Query:
        """The options this View sends."""
        return self._query

    def _on_error_continue(self) -> bool:
        """Whether the query asked the view engine to continue past errors."""
        option = self._query._real_options.get("on_error")
        if option is None and self._query._base_str:
            option = parse_qs(self._query._base_str).get("on_error", [None])[-1]
        return option == ONERROR_CONTINUE

    def _handle_meta(self, meta: Any) -> None:
        """Record total_rows and raise (or warn about) view engine errors."""
        if not isinstance(meta, dict):
            return
        self.indexed_rows = meta.get("total_rows", 0)
        errors = meta.get("errors")
        if not errors:
            return
        self.errors.extend(errors)
        if self._on_error_continue():
            warnings.warn(f"View {self.design}/{self.view} reported errors: {errors!r}",
                          stacklevel=3)
            return
        raise ViewEngineError.pyexc(
            f"View {self.design}/{self.view} failed on the server side", obj=errors)

    def _process(self, rows: list[dict[str, Any]]) -> Iterable[Any]:
        """Count a page of rows and hand it to the row processor."""
        self.rows_returned += len(rows)
        return self.row_processor.handle_rows(rows, self._parent, self.include_docs)

    def _iter_buffered(self) -> Iterator[Any]:
        """Rows of a single non-streaming request."""
        self.raw = self._parent._view(self.design, self.view, params=self._query)
        response = getattr(self.raw, "value", None)
        rows = response.get("rows", []) if isinstance(response, dict) else []
        if rows:
            yield from self._process(rows)
        self._handle_meta(response)

    def _iter_streaming(self) -> Iterator[Any]:
        """Rows of a chunked request, page by page until the response ends."""
        self.raw = self._parent._http_request(
            type=LCB_HTTP_TYPE_VIEW, method=LCB_HTTP_METHOD_GET,
            path=make_dvpath(self.design, self.view) + self._query.encoded,
            chunked=True, fetch_headers=True, quiet=False)
        while True:
            page = self.raw._fetch()
            if page is None:
                break
            if page:
                yield from self._process([json.loads(row) for row in page])
        self._handle_meta(getattr(self.raw, "value", None))

    def __iter__(self) -> Iterator[Any]:
        if self._queried:
            raise AlreadyQueriedError.pyexc(
                f"View {self.design}/{self.view} was already queried; create a new one")
        self._queried = True
        if self._streaming:
            yield from self._iter_streaming()
        else:
            yield from self._iter_buffered()

    def __repr__(self) -> str:
        return (f"View<Design={self.design}, View={self.view}, Query={self._query!r}, "
                f"Rows Fetched={self.rows_returned}>")
