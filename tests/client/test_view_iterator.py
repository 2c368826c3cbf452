"""View iteration driven by a small in-test connection that speaks the View contract."""
import gc
import json
import warnings
import weakref

import pytest

from couchbase import _libcouchbase as C
from couchbase.exceptions import ArgumentError, HTTPError, ViewEngineError, exc_from_kind
from couchbase.result import HttpResult, MultiResult, ValueResult
from couchbase.views.iterator import AlreadyQueriedError, RowProcessor, View, ViewRow
from couchbase.views.params import Query, make_dvpath


def row(key, docid=None, value=None):
    out = {"key": key, "value": value}
    if docid is not None:
        out["id"] = docid
    return out


class FakeConnection:
    """Serves one canned view response, buffered or as pages of row strings."""

    def __init__(self, rows=(), meta=None, pages=None, docs=None, status=200):
        self.rows = list(rows)
        self.meta = {"total_rows": len(self.rows), **(meta or {})}
        self.pages = pages
        self.docs = docs or {}
        self.status = status
        self.calls = []

    def _fail(self, path):
        return exc_from_kind(C.PYCBC_EXC_HTTP, "HTTP request failed; inspect objextra",
                             key=path, obj=HttpResult(path, 0, self.status))

    def _view(self, design, view, params=None):
        self.calls.append(("_view", design, view, params))
        path = make_dvpath(design, view) + params.encoded
        if self.status != 200:
            raise self._fail(path)
        result = HttpResult(path, 0, 200)
        result._value = {**self.meta, "rows": self.rows}
        return result

    def _http_request(self, **kwargs):
        self.calls.append(("_http_request", kwargs))
        pages = iter(self.pages)
        result = HttpResult(kwargs["path"], 0, self.status)

        def fetch():
            if self.status != 200:
                raise self._fail(kwargs["path"])
            page = next(pages, None)
            if page is None:
                result._value = {**self.meta, "rows": []}
            return page

        result._fetcher = fetch
        return result

    def get_multi(self, keys, quiet=None):
        self.calls.append(("get_multi", keys, quiet))
        mres = MultiResult()
        for key in keys:
            if key in self.docs:
                mres[key] = ValueResult(key, 0, 1, self.docs[key], 0)
        return mres


def as_pages(*pages):
    return [[json.dumps(r) for r in page] for page in pages]


def test_view_row_fields_and_manual_id_alias():
    vr = ViewRow("k", "v", "doc1", None)
    assert vr._fields == ("key", "value", "docid", "doc")
    assert vr.id == vr.docid == "doc1"
    assert tuple(vr) == ("k", "v", "doc1", None)


def test_nothing_is_sent_until_iteration():
    conn = FakeConnection([row("a", "1")])
    view = View(conn, "beer", "by_name", limit=1)
    assert conn.calls == []
    assert view.raw is None and view.rows_returned == 0 and view.indexed_rows == 0
    assert list(view) == [ViewRow("a", None, "1", None)]


def test_buffered_iteration():
    conn = FakeConnection([row("a", "1", 10), row("b", "2", 20)], meta={"total_rows": 7})
    view = View(conn, "beer", "by_name", limit=2, stale=False)
    assert list(view) == [ViewRow("a", 10, "1", None), ViewRow("b", 20, "2", None)]
    (name, design, vname, params), = conn.calls
    assert (name, design, vname) == ("_view", "beer", "by_name")
    assert params is view.query and params.encoded == "limit=2&stale=false"
    assert view.rows_returned == 2 and view.indexed_rows == 7
    assert isinstance(view.raw, HttpResult) and view.errors == []


def test_second_iteration_raises_already_queried():
    view = View(FakeConnection([row("a")]), "d", "v")
    assert len(list(view)) == 1
    with pytest.raises(AlreadyQueriedError):
        list(view)


def test_view_attributes_and_repr():
    view = View(FakeConnection([row("a")]), "beer", "by_name", limit=3)
    assert (view.design, view.view, view.include_docs, view.streaming) == \
        ("beer", "by_name", False, False)
    assert isinstance(view.row_processor, RowProcessor)
    assert repr(view) == "View<Design=beer, View=by_name, Query=Query:'limit=3', Rows Fetched=0>"
    list(view)
    assert repr(view).endswith("Rows Fetched=1>")


def test_query_and_keyword_options_together_are_rejected():
    with pytest.raises(ArgumentError):
        View(FakeConnection(), "d", "v", query=Query(limit=1), skip=2)


def test_query_object_is_deep_copied():
    q = Query(limit=1)
    view = View(FakeConnection(), "d", "v", query=q)
    q.limit = 99
    assert view.query.encoded == "limit=1" and view.query is not q


def test_query_string_and_dict():
    assert View(FakeConnection(), "d", "v", query="limit=3&skip=1").query.encoded == \
        "limit=3&skip=1&"
    assert View(FakeConnection(), "d", "v", query={"limit": 3}).query.encoded == "limit=3"


@pytest.mark.parametrize("opts", [{"reduce": True}, {"group": True}, {"group_level": 1},
                                  {"reduce": "true"}])
def test_include_docs_with_reduce_or_group_is_rejected(opts):
    with pytest.raises(ArgumentError):
        View(FakeConnection(), "d", "v", include_docs=True, **opts)


@pytest.mark.parametrize("opts", [{"reduce": False}, {"group": 0}, {"group_level": 0}])
def test_include_docs_with_disabled_reduce_is_fine(opts):
    View(FakeConnection(), "d", "v", include_docs=True, **opts)


def test_include_docs_fetches_each_page_once():
    conn = FakeConnection([row("a", "1"), row("b", "2"), row("c", "1")],
                          docs={"1": {"n": 1}, "2": {"n": 2}})
    rows = list(View(conn, "d", "v", include_docs=True))
    assert [c[0] for c in conn.calls] == ["_view", "get_multi"]
    assert conn.calls[1][1:] == (("1", "2"), True)
    assert [r.doc.value for r in rows] == [{"n": 1}, {"n": 2}, {"n": 1}]
    assert isinstance(rows[0].doc, ValueResult)


def test_include_docs_missing_document_warns_and_gives_none():
    conn = FakeConnection([row("a", "gone"), row("b", "2")], docs={"2": "two"})
    with pytest.warns(UserWarning, match="gone"):
        rows = list(View(conn, "d", "v", include_docs=True))
    assert rows[0].doc is None and rows[1].doc.value == "two"


def test_streaming_reads_until_the_response_ends():
    pages = as_pages([row("a", "1")], [], [row("b", "2"), row("c", "3")], [], [row("d", "4")])
    conn = FakeConnection(pages=pages, meta={"total_rows": 40})
    view = View(conn, "beer", "by_name", streaming=True, limit=4, include_docs=True,
                row_processor=RowProcessor())
    conn.docs = {str(i): i for i in range(1, 5)}
    keys = [r.key for r in view]
    assert keys == ["a", "b", "c", "d"]
    assert view.rows_returned == 4 and view.indexed_rows == 40 and view.streaming
    name, kwargs = conn.calls[0]
    assert name == "_http_request"
    assert kwargs == {"type": C.LCB_HTTP_TYPE_VIEW, "method": C.LCB_HTTP_METHOD_GET,
                      "path": "_design/beer/_view/by_name?limit=4", "chunked": True,
                      "fetch_headers": True, "quiet": False}
    assert [c[1] for c in conn.calls[1:]] == [("1",), ("2", "3"), ("4",)]


def test_streaming_with_no_rows():
    view = View(FakeConnection(pages=[[]]), "d", "v", streaming=True, limit=0)
    assert list(view) == []
    assert view.rows_returned == 0


def test_buffered_with_no_rows():
    conn = FakeConnection([])
    assert list(View(conn, "d", "v", include_docs=True, limit=0)) == []
    assert [c[0] for c in conn.calls] == ["_view"]


ERRORS = [{"from": "127.0.0.1:1", "reason": "timeout"}]


def test_view_engine_errors_raise_after_the_rows():
    view = View(FakeConnection([row("a")], meta={"errors": ERRORS}), "d", "v")
    got = []
    with pytest.raises(ViewEngineError) as info:
        for r in view:
            got.append(r.key)
    assert got == ["a"]
    assert view.errors == ERRORS and info.value.objextra == ERRORS


def test_view_engine_errors_with_on_error_stop_raise():
    view = View(FakeConnection([], meta={"errors": ERRORS}), "d", "v", on_error="stop")
    with pytest.raises(ViewEngineError):
        list(view)


def test_view_engine_errors_with_continue_warn():
    view = View(FakeConnection([row("a")], meta={"errors": ERRORS}), "d", "v",
                on_error="continue")
    with pytest.warns(UserWarning, match="timeout"):
        assert len(list(view)) == 1
    assert view.errors == ERRORS


def test_continue_in_a_raw_query_string_is_honoured():
    view = View(FakeConnection([], meta={"errors": ERRORS}), "d", "v",
                query="limit=1&on_error=continue")
    with pytest.warns(UserWarning):
        list(view)


def test_streaming_view_engine_errors_raise_at_the_end():
    conn = FakeConnection(pages=as_pages([row("a")]), meta={"errors": ERRORS})
    view = View(conn, "d", "v", streaming=True)
    rows = iter(view)
    assert next(rows).key == "a"
    with pytest.raises(ViewEngineError):
        next(rows)


def test_http_errors_propagate():
    with pytest.raises(HTTPError) as info:
        list(View(FakeConnection(status=404), "d", "missing"))
    assert info.value.objextra.http_status == 404
    with pytest.raises(HTTPError):
        list(View(FakeConnection(pages=[], status=500), "d", "v", streaming=True))


def test_duck_typed_row_processor_like_the_tutorial():
    class Beer:
        def __init__(self, id, name):
            self.id, self.name = id, name

    class BeerRows:
        def handle_rows(self, rows, connection, include_docs):
            docs = connection.get_multi([r["id"] for r in rows], quiet=True)
            beers = [Beer(r["id"], r["key"]) for r in rows]
            for beer in beers:
                beer.brewery = docs[beer.id].value["brewery_id"]
            return beers

    conn = FakeConnection([row("Juleol", "aass-juleol")],
                          docs={"aass-juleol": {"brewery_id": "aass"}})
    beers = list(View(conn, "beer", "by_name", row_processor=BeerRows(), include_docs=True))
    assert [(b.id, b.name, b.brewery) for b in beers] == [("aass-juleol", "Juleol", "aass")]


def test_custom_row_class():
    rows = list(View(FakeConnection([row("a", "1", 2)]), "d", "v",
                     row_processor=RowProcessor(rowclass=lambda *f: f)))
    assert rows == [("a", 2, "1", None)]


def test_view_keeps_no_cycle_with_the_connection():
    conn = FakeConnection([row("a")])
    alive = weakref.ref(conn)
    view = View(conn, "d", "v")
    list(view)
    gc.disable()
    try:
        del conn
        assert alive() is not None
        del view
        assert alive() is None
    finally:
        gc.enable()


def test_abandoned_iteration_still_counts_as_queried():
    view = View(FakeConnection(pages=as_pages([row("a")], [row("b")])), "d", "v",
                streaming=True)
    first = iter(view)
    next(first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AlreadyQueriedError):
            list(view)
