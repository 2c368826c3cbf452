"""A 2.x view queried through SDK 4's ``view_query`` returns what the classic client gets.

SDK 4 finds the views service from ``nodesExt[].services.capi`` of the bucket config and
sends ``GET /<bucket>/_design/<ddoc>/_view/<view>?...`` (POST with ``keys``) with HTTP
basic auth of the cluster credentials, which cbserver's views service serves.
"""
from __future__ import annotations

import pytest

from couchbase import Couchbase

MAP = ("function (doc, meta) { if (doc.type === 'beer') { emit([doc.brewery, doc.abv], "
       "doc.name); } }")
BEERS = [("b01", "alpha", 5.0, "Pale"), ("b02", "alpha", 7.5, "Strong"),
         ("b03", "beta", 4.2, "Light"), ("b04", "gamma", 9.1, "Quad"),
         ("b05", "beta", 6.0, "Amber")]


@pytest.fixture
def beers(server, prefix):
    """A production design document over five beer documents in the protected bucket."""
    classic = Couchbase.connect(bucket="protected", host=server.host, port=server.rest_port,
                                password="secret")
    ddoc = f"{prefix}dd".replace("-", "_")
    classic.design_create(ddoc, {"views": {"by_brewery": {"map": MAP.replace(
        "doc.type === 'beer'", f"doc.type === 'beer' && doc.run === '{prefix}'"),
        "reduce": "_count"}}}, use_devmode=False)
    for key, brewery, abv, name in BEERS:
        classic.set(f"{prefix}{key}", {"type": "beer", "run": prefix, "brewery": brewery,
                                       "abv": abv, "name": name})
    yield classic, ddoc
    classic.design_delete(ddoc, use_devmode=False)


def _rows(classic, ddoc, **params):
    """[id, key, value] rows of the same query through the classic client."""
    view = classic.query(ddoc, "by_brewery", stale=False, **params)
    return [[row.docid, row.key, row.value] for row in view]


#: Read-your-writes: SDK 4.6.3 sends no ``stale`` parameter for ``scan_consistency``
#: (seen on the wire), so ``stale=false`` goes through ``raw``.
FRESH = {"raw": {"stale": "false"}}


def test_view_query_matches_the_classic_client(sdk4, beers, prefix):
    classic, ddoc = beers
    queries = [
        {**FRESH, "reduce": False},
        {**FRESH, "reduce": False, "limit": 2, "skip": 1},
        {**FRESH, "reduce": False, "order": "descending"},
        {**FRESH, "reduce": False, "startkey": ["beta"],
         "endkey": ["beta", {}]},
        {**FRESH, "reduce": False, "keys": [["gamma", 9.1],
                                                                       ["alpha", 5.0]]},
        {**FRESH, "group_level": 1},
    ]
    report = sdk4.run("view_query", user="protected", password="secret", bucket="protected",
                      ddoc=ddoc, view="by_brewery", queries=queries)["results"]
    everything = _rows(classic, ddoc, reduce=False)
    assert [row[0] for row in everything] == [f"{prefix}{k}" for k in
                                              ("b01", "b02", "b03", "b05", "b04")]
    assert report[0] == {"rows": everything, "total_rows": 5}
    assert report[1]["rows"] == everything[1:3]
    assert report[2]["rows"] == everything[::-1]
    assert report[3]["rows"] == _rows(classic, ddoc, reduce=False, startkey=["beta"],
                                      endkey=["beta", {}])
    assert [row[1] for row in report[3]["rows"]] == [["beta", 4.2], ["beta", 6.0]]
    assert [row[1] for row in report[4]["rows"]] == [["gamma", 9.1], ["alpha", 5.0]]
    assert report[5]["rows"] == [[None, ["alpha"], 2], [None, ["beta"], 2], [None, ["gamma"], 1]]


def test_view_query_of_a_missing_design_document_is_an_error(sdk4, server):
    report = sdk4.run("view_query", user="protected", password="secret", bucket="protected",
                      ddoc="no_such_ddoc", view="none", queries=[{}])["results"]
    assert report == [{"error": "DesignDocumentNotFoundException"}]
