"""The client's view API against a real cbserver holding beer-sample: query, Query,
View, ViewRow, RowProcessor, streaming, include_docs and view errors (manual 1.3.3,
2.2, 3.7; sdk-1.0-api.md 10)."""
import json
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from cbserver.embedded import EmbeddedServer
from cbserver.samples import get_sample
from couchbase import Couchbase
from couchbase.connection import Connection
from couchbase.exceptions import ArgumentError, HTTPError, ViewEngineError
from couchbase.result import HttpResult, ValueResult
from couchbase.views.iterator import AlreadyQueriedError, RowProcessor, View, ViewRow
from couchbase.views.params import STALE_OK, Query

BATCH = 1000
ENTRIES_PER_PAGE = 30
BY_NAME = {"views": {"by_name": {"map": (
    'function (doc, meta) {\n  if(doc.type && doc.type == "beer") {\n'
    '    emit(doc.name, null);\n  }\n}')}}}


class CountingConnection(Connection):
    """A real Connection that records the ids of every get_multi call."""

    def __init__(self, **kwargs):
        self.get_multi_calls = []
        super().__init__(**kwargs)

    def get_multi(self, keys, ttl=0, quiet=None):
        self.get_multi_calls.append(list(keys))
        return super().get_multi(keys, ttl=ttl, quiet=quiet)


@pytest.fixture(scope="module")
def sample():
    """beer-sample documents (id → dict) and its design documents."""
    data = get_sample("beer-sample")
    return {key: json.loads(raw) for key, raw in data.documents()}, data.design_documents()


@pytest.fixture(scope="module")
def beer_server(sample):
    """A cbserver whose beer-sample bucket was loaded and designed through the client."""
    docs, ddocs = sample
    with EmbeddedServer(buckets=("beer-sample", "scratch")) as srv:
        cb = Couchbase.connect(bucket="beer-sample", host=srv.host, port=srv.rest_port)
        items = list(docs.items())
        for start in range(0, len(items), BATCH):
            assert cb.set_multi(dict(items[start:start + BATCH])).all_ok
        for ddoc in ddocs:
            name = ddoc["_id"].split("/", 1)[1]
            assert cb.design_create(name, ddoc, use_devmode=False, syncwait=60).success
        yield srv


@pytest.fixture(scope="module")
def cb(beer_server):
    return Couchbase.connect(bucket="beer-sample", host=beer_server.host,
                             port=beer_server.rest_port)


@pytest.fixture
def scratch(beer_server):
    return Couchbase.connect(bucket="scratch", host=beer_server.host, port=beer_server.rest_port)


def brewery_beers_rows(docs):
    """(key, id) of every row the brewery_beers map emits, in view order."""
    rows = []
    for docid, doc in docs.items():
        if doc.get("type") == "brewery":
            rows.append(([docid], docid))
        elif doc.get("type") == "beer" and doc.get("brewery_id"):
            rows.append(([doc["brewery_id"], docid], docid))
    return rows


def by_location_keys(docs):
    """The key the by_location map emits for each document that emits one."""
    keys = []
    for doc in docs.values():
        country, state, city = doc.get("country"), doc.get("state"), doc.get("city")
        if city:
            keys.append((country, state, city))
        elif state:
            keys.append((country, state))
        elif country:
            keys.append((country,))
    return keys


# -- basic queries (manual 1.3.3, 3.7) ------------------------------------------------------

def test_query_returns_a_lazy_view_of_viewrows(cb, sample):
    docs, _ = sample
    view = cb.query("beer", "brewery_beers")
    assert isinstance(view, View) and view.raw is None and view.rows_returned == 0
    rows = list(view)
    assert all(isinstance(r, ViewRow) for r in rows)
    expected = brewery_beers_rows(docs)
    assert len(rows) == len(expected) == 7303
    assert Counter((tuple(r.key), r.docid) for r in rows) == \
        Counter((tuple(k), i) for k, i in expected)
    first = rows[0]
    assert first.key == [first.docid] and first.value is None and first.id == first.docid
    assert first.doc is None
    assert view.indexed_rows == 7303 and view.rows_returned == 7303 and view.errors == []
    assert isinstance(view.raw, HttpResult) and view.raw.http_status == 200
    assert view.raw.value["total_rows"] == 7303 and len(view.raw.value["rows"]) == 7303
    assert repr(view) == ("View<Design=beer, View=brewery_beers, Query=Query:'', "
                          "Rows Fetched=7303>")


def test_beers_sort_under_their_brewery(cb):
    rows = list(cb.query("beer", "brewery_beers", limit=200))
    current = None
    for row in rows:
        if len(row.key) == 1:
            current = row.key[0]
        else:
            assert row.key[0] == current, row


def test_already_queried(cb):
    view = cb.query("beer", "brewery_beers", limit=2)
    assert len(list(view)) == 2
    with pytest.raises(AlreadyQueriedError):
        list(view)


def test_three_ways_of_passing_options_agree(cb):
    by_string = list(cb.query("beer", "brewery_beers", query="limit=3&skip=1&stale=false"))
    by_kwargs = list(cb.query("beer", "brewery_beers", limit=3, skip=1, stale=False))
    q = Query()
    q.limit = 3
    q.skip = 1
    q.stale = False
    by_query = list(cb.query("beer", "brewery_beers", query=q))
    assert by_string == by_kwargs == by_query and len(by_query) == 3
    everything = list(cb.query("beer", "brewery_beers", limit=4))
    assert by_query == everything[1:4]


def test_query_and_keywords_together_are_rejected(cb):
    with pytest.raises(ArgumentError):
        cb.query("beer", "brewery_beers", query=Query(limit=1), skip=1)


# -- reduce and grouping ------------------------------------------------------------------

def test_by_location_count(cb, sample):
    docs, _ = sample
    rows = list(cb.query("beer", "by_location"))
    assert rows == [ViewRow(None, len(by_location_keys(docs)), None, None)]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_by_location_group_levels(cb, sample, level):
    docs, _ = sample
    expected = Counter(key[:level] for key in by_location_keys(docs))
    view = cb.query("beer", "by_location", group_level=level)
    rows = list(view)
    assert {tuple(r.key): r.value for r in rows} == dict(expected)
    assert len(rows) == len(expected) and view.rows_returned == len(expected)
    assert all(r.docid is None for r in rows)


def test_group_true_groups_by_full_key(cb, sample):
    docs, _ = sample
    rows = list(cb.query("beer", "by_location", group=True))
    assert {tuple(r.key): r.value for r in rows} == dict(Counter(by_location_keys(docs)))


def test_reduce_false_gives_the_map_rows(cb, sample):
    docs, _ = sample
    view = cb.query("beer", "by_location", reduce=False, limit=5)
    rows = list(view)
    assert len(rows) == 5 and all(r.value == 1 and r.docid in docs for r in rows)
    assert view.indexed_rows == len(by_location_keys(docs))


# -- ranges, descending, keys, pagination --------------------------------------------------

def test_string_range_end_selects_a_prefix(cb, sample):
    docs, _ = sample
    q = Query(mapkey_range=[["abbaye"], ["abbaye" + Query.STRING_RANGE_END]])
    rows = list(cb.query("beer", "brewery_beers", query=q))
    expected = {i for k, i in brewery_beers_rows(docs) if k[0].startswith("abbaye")}
    assert expected and {r.docid for r in rows} == expected
    one_brewery = list(cb.query("beer", "brewery_beers", mapkey_range=[
        ["abbaye_de_leffe"], ["abbaye_de_leffe", Query.STRING_RANGE_END]]))
    assert {r.key[0] for r in one_brewery} == {"abbaye_de_leffe"} and len(one_brewery) > 1


def test_manual_descending_range_example(cb):
    """Manual 3.7's example passes an ascending range with descending=True: the server
    rejects it; with the range reversed it gives the last rows of the prefix."""
    with pytest.raises(HTTPError) as info:
        list(cb.query("beer", "brewery_beers", limit=3, descending=True,
                      mapkey_range=["abbaye", "abbaye" + Query.STRING_RANGE_END]))
    assert "query_parse_error" in info.value.message
    assert info.value.objextra.http_status == 400
    rows = list(cb.query("beer", "brewery_beers", limit=3, descending=True, mapkey_range=[
        ["abbaye" + Query.STRING_RANGE_END], ["abbaye"]]))
    ascending = list(cb.query("beer", "brewery_beers", mapkey_range=[
        ["abbaye"], ["abbaye" + Query.STRING_RANGE_END]]))
    assert rows == ascending[::-1][:3]


def test_descending_reverses_the_order(cb):
    ascending = list(cb.query("beer", "brewery_beers"))
    descending = list(cb.query("beer", "brewery_beers", descending=True, limit=50))
    assert descending == ascending[::-1][:50]


def test_keys_follow_the_given_order(cb, sample):
    docs, _ = sample
    beer_id = next(i for i, d in docs.items()
                   if d.get("type") == "beer" and d.get("brewery_id"))
    keys = [[docs[beer_id]["brewery_id"], beer_id], ["21st_amendment_brewery_cafe"],
            ["no such brewery"]]
    rows = list(cb.query("beer", "brewery_beers", keys=keys))
    assert [r.key for r in rows] == keys[:2]
    assert [r.docid for r in rows] == [beer_id, "21st_amendment_brewery_cafe"]
    single = list(cb.query("beer", "brewery_beers", mapkey_single=["21st_amendment_brewery_cafe"]))
    assert [r.docid for r in single] == ["21st_amendment_brewery_cafe"]


def test_skip_limit_pagination_walks_every_row_once(cb):
    page_size = 1000
    seen = []
    skip = 0
    while True:
        page = list(cb.query("beer", "brewery_beers", skip=skip, limit=page_size))
        seen.extend((tuple(r.key), r.docid) for r in page)
        if len(page) < page_size:
            break
        skip += page_size
    assert len(seen) == len(set(seen)) == 7303
    assert seen == [(tuple(r.key), r.docid) for r in cb.query("beer", "brewery_beers")]


def test_docid_range_pagination(cb):
    """Paging with startkey + startkey_docid (skip=1) instead of large skips."""
    all_rows = list(cb.query("beer", "brewery_beers", limit=90))
    walked, last = [], None
    while len(walked) < 90:
        q = Query(limit=ENTRIES_PER_PAGE)
        if last is not None:
            q.update(startkey=last.key, startkey_docid=last.docid, skip=1)
        page = list(cb.query("beer", "brewery_beers", query=q))
        walked.extend(page)
        last = page[-1]
    assert walked == all_rows


# -- include_docs, row processors ------------------------------------------------------------

def test_include_docs_is_one_batched_get_per_page(beer_server, sample):
    docs, _ = sample
    conn = CountingConnection(bucket="beer-sample", host=beer_server.host,
                              port=beer_server.rest_port)
    rows = list(conn.query("beer", "brewery_beers", include_docs=True, limit=25, skip=100))
    assert len(rows) == 25 and len(conn.get_multi_calls) == 1
    assert conn.get_multi_calls[0] == [r.docid for r in rows]
    for row in rows:
        assert isinstance(row.doc, ValueResult) and row.doc.value == docs[row.docid]


def test_include_docs_streaming_fetches_per_page(beer_server, sample):
    docs, _ = sample
    conn = CountingConnection(bucket="beer-sample", host=beer_server.host,
                              port=beer_server.rest_port)
    rows = list(conn.query("beer", "brewery_beers", include_docs=True, streaming=True))
    assert len(rows) == 7303
    assert all(r.doc.value == docs[r.docid] for r in rows)
    fetched = [i for call in conn.get_multi_calls for i in call]
    assert sorted(fetched) == sorted({r.docid for r in rows})
    assert 1 < len(conn.get_multi_calls) < 7303


def test_manual_include_docs_example(cb):
    results = list(cb.query("beer", "brewery_beers", include_docs=True, limit=5))
    assert len(results) == 5
    for result in results:
        doc = result.doc.value
        assert doc["type"] in ("beer", "brewery")
        if doc["type"] == "beer":
            assert isinstance(doc["abv"], (int, float))


def test_include_docs_with_reduce_is_rejected(cb):
    with pytest.raises(ArgumentError):
        cb.query("beer", "by_location", include_docs=True, group_level=1)


def test_row_of_a_deleted_document_gets_a_failed_result(scratch):
    scratch.set("inc-gone", {"inc": True})
    scratch.design_create("inc", {"views": {"v": {
        "map": "function (doc, meta) { if (doc.inc) emit(meta.id, null); }"}}},
        use_devmode=False)
    assert [r.docid for r in scratch.query("inc", "v", stale=False)] == ["inc-gone"]
    scratch.delete("inc-gone")
    rows = list(scratch.query("inc", "v", stale=STALE_OK, include_docs=True))
    assert [r.docid for r in rows] == ["inc-gone"]
    assert not rows[0].doc.success and rows[0].doc.value is None


class Beer:
    """The manual's beer listing entry (2.2.3)."""

    def __init__(self, id, name, doc=None):
        self.id = id
        self.name = name
        self.brewery_id = None
        self.doc = doc


class BeerListRowProcessor:
    """The manual's row processor: one get_multi per page for the brewery ids."""

    def handle_rows(self, rows, connection, include_docs):
        ret = []
        by_docids = {}
        for r in rows:
            b = Beer(r["id"], r["key"])
            ret.append(b)
            by_docids[b.id] = b
        docs = connection.get_multi([x.id for x in ret], quiet=True)
        for beer_id, doc in docs.items():
            beer = by_docids[beer_id]
            if not doc.success:
                ret.remove(beer)
                continue
            beer.brewery_id = doc.value["brewery_id"]
        return ret


@pytest.fixture(scope="module")
def by_name(beer_server):
    """The manual's beer/by_name view, created in development and published."""
    conn = Couchbase.connect(bucket="beer-sample", host=beer_server.host,
                             port=beer_server.rest_port)
    conn.design_create("beer_names", BY_NAME, use_devmode=True, syncwait=30)
    conn.design_publish("beer_names", syncwait=30)
    return conn


def test_manual_beer_listing_with_row_processor(by_name, sample):
    docs, _ = sample
    rows = list(by_name.query("beer_names", "by_name", limit=ENTRIES_PER_PAGE,
                              row_processor=BeerListRowProcessor()))
    assert len(rows) == ENTRIES_PER_PAGE and all(isinstance(b, Beer) for b in rows)
    for beer in rows:
        assert beer.name == docs[beer.id]["name"]
        assert beer.brewery_id == docs[beer.id]["brewery_id"]


def test_manual_beer_search(by_name, sample):
    docs, _ = sample
    value = "Abbaye"
    q = Query()
    q.mapkey_range = [value, value + Query.STRING_RANGE_END]
    q.limit = ENTRIES_PER_PAGE
    res = by_name.query("beer_names", "by_name", row_processor=BeerListRowProcessor(),
                        query=q, include_docs=True)
    found = {beer.id: beer.name for beer in res}
    expected = {i: d["name"] for i, d in docs.items()
                if d.get("type") == "beer" and d["name"].lower().startswith("abbaye")}
    assert found == expected and found


def test_default_row_processor_with_custom_rowclass(cb):
    class Row(ViewRow):
        pass

    rows = list(cb.query("beer", "brewery_beers", limit=3, row_processor=RowProcessor(Row)))
    assert len(rows) == 3 and all(type(r) is Row for r in rows)


# -- streaming ---------------------------------------------------------------------------

def test_streaming_gives_the_same_rows_and_meta(cb):
    buffered = cb.query("beer", "brewery_beers")
    streamed = cb.query("beer", "brewery_beers", streaming=True)
    assert streamed.streaming and not buffered.streaming
    assert list(streamed) == list(buffered)
    assert streamed.indexed_rows == 7303 and streamed.rows_returned == 7303
    assert streamed.raw.value == {"total_rows": 7303, "rows": []}
    assert list(cb.query("beer", "brewery_beers", streaming=True, limit=0)) == []
    reduced = list(cb.query("beer", "by_location", streaming=True, group_level=1))
    assert reduced == list(cb.query("beer", "by_location", group_level=1))


_MEMORY_PROBE = textwrap.dedent("""
    import json, sys, tracemalloc
    from couchbase import Couchbase
    cb = Couchbase.connect(bucket="beer-sample", host=sys.argv[1], port=int(sys.argv[2]))
    streaming = sys.argv[3] == "stream"
    view = cb.query("beer", "brewery_beers", streaming=streaming)
    tracemalloc.start()
    count = 0
    for row in view:
        count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"rows": count, "peak": peak}))
""")


def _probe(server, mode):
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, server.host,
                          str(server.rest_port), mode],
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout)


def test_streaming_memory_is_bounded(beer_server, cb):
    """The client's allocation high-water mark while iterating the whole view (measured
    in a separate process, so the embedded server's memory does not count)."""
    body = json.dumps(cb._view("beer", "brewery_beers").value).encode()
    streamed = _probe(beer_server, "stream")
    buffered = _probe(beer_server, "buffer")
    assert streamed["rows"] == buffered["rows"] == 7303
    assert buffered["peak"] > len(body)
    # The stream holds one socket read (64 KiB) and one page of rows at a time.
    assert streamed["peak"] < len(body) / 2 and streamed["peak"] * 4 < buffered["peak"]


# -- stale and incremental updates seen by the client ------------------------------------

def test_stale_after_writes(scratch):
    scratch.set("st-a", {"kind": "client-st"})
    scratch.design_create("st", {"views": {"v": {
        "map": "function (doc, meta) {"
               " if (doc.kind === 'client-st') emit(meta.id, doc.n || 0); }"}}},
        use_devmode=False, syncwait=10)
    assert [r.docid for r in scratch.query("st", "v", stale=False)] == ["st-a"]
    scratch.set("st-b", {"kind": "client-st"})
    assert [r.docid for r in scratch.query("st", "v", stale=STALE_OK)] == ["st-a"]
    assert [r.docid for r in scratch.query("st", "v", stale=False)] == ["st-a", "st-b"]
    scratch.replace("st-a", {"kind": "client-st", "n": 5})
    scratch.delete("st-b")
    view = scratch.query("st", "v", stale=False)
    assert list(view) == [ViewRow("st-a", 5, "st-a", None)] and view.indexed_rows == 1


def test_update_after_refreshes_for_the_next_query(scratch):
    scratch.set("ua-a", {"kind": "client-ua"})
    scratch.design_create("ua", {"views": {"v": {
        "map": "function (doc, meta) { if (doc.kind === 'client-ua') emit(meta.id, null); }"}}},
        use_devmode=False)
    assert [r.docid for r in scratch.query("ua", "v", stale=False)] == ["ua-a"]
    scratch.set("ua-b", {"kind": "client-ua"})
    assert [r.docid for r in scratch.query("ua", "v", stale="update_after")] == ["ua-a"]
    assert [r.docid for r in scratch.query("ua", "v", stale=STALE_OK)] == ["ua-a", "ua-b"]


# -- errors ----------------------------------------------------------------------------------

def test_missing_design_document_or_view_is_http_error(cb):
    with pytest.raises(HTTPError) as info:
        list(cb.query("no_such_design", "v"))
    assert info.value.objextra.http_status == 404 and "not_found" in info.value.message
    with pytest.raises(HTTPError) as info:
        list(cb.query("beer", "no_such_view"))
    assert info.value.objextra.http_status == 404
    assert "no_such_view" in info.value.message
    with pytest.raises(HTTPError) as info:
        list(cb.query("beer", "no_such_view", streaming=True))
    assert info.value.objextra.http_status == 404


def test_reduce_on_a_map_only_view_is_http_error(cb):
    for streaming in (False, True):
        with pytest.raises(HTTPError) as info:
            list(cb.query("beer", "brewery_beers", reduce=True, streaming=streaming))
        assert "Invalid URL parameter `reduce` for map view." in info.value.message
        assert info.value.objextra.value["error"] == "query_parse_error"


def test_bad_query_values_are_rejected_before_sending(cb):
    with pytest.raises(ArgumentError):
        cb.query("beer", "brewery_beers", limit="ten")
    with pytest.raises(ArgumentError):
        cb.query("beer", "brewery_beers", stale="sometimes")
    with pytest.raises(ArgumentError):
        cb.query("beer", "brewery_beers", no_such_option=1)


def test_server_rejects_bad_passthrough_values(cb):
    with pytest.raises(HTTPError) as info:
        list(cb.query("beer", "brewery_beers", query="limit=ten"))
    assert info.value.objextra.http_status == 400
    assert len(list(cb.query("beer", "brewery_beers", limit=1))) == 1


@pytest.fixture
def throwing(scratch):
    scratch.set_multi({"tm-good": {"tm": "ok"}, "tm-bad": {"tm": "boom"}})
    scratch.design_create("tm", {"views": {"v": {"map": (
        "function (doc, meta) { if (doc.tm === 'boom') throw new Error('boom ' + meta.id);"
        " if (doc.tm) emit(meta.id, null); }")}}}, use_devmode=False)
    return scratch


def test_throwing_map_raises_view_engine_error(throwing):
    for streaming in (False, True):
        view = throwing.query("tm", "v", stale=False, streaming=streaming)
        with pytest.raises(ViewEngineError) as info:
            list(view)
        reasons = " ".join(e["reason"] for e in info.value.objextra)
        assert "boom tm-bad" in reasons
        assert view.errors == info.value.objextra and view.rows_returned == 1


def test_throwing_map_with_on_error_continue_warns(throwing):
    view = throwing.query("tm", "v", stale=False, on_error="continue")
    with pytest.warns(UserWarning, match="boom tm-bad"):
        rows = list(view)
    assert [r.docid for r in rows] == ["tm-good"]
    assert view.errors and "boom tm-bad" in view.errors[0]["reason"]


def test_dev_mode_query(scratch):
    scratch.set("dm-1", {"dm": 1})
    scratch.design_create("dm", {"views": {"v": {
        "map": "function (doc, meta) { if (doc.dm) emit(doc.dm, null); }"}}})
    rows = list(scratch.query("dm", "v", use_devmode=True, stale=False, full_set=True))
    assert [r.docid for r in rows] == ["dm-1"]
    with pytest.raises(HTTPError):
        list(scratch.query("dm", "v"))
