"""The beer-sample views over HTTP: rows and counts that follow from the data set."""
import collections
import json
import subprocess
import sys

from support.shared import SHARED, conformance_script


def brewery_beers_expected(docs):
    """The brewery_beers map, computed in Python: (key, id) pairs."""
    out = []
    for d in docs:
        doc = d["doc"]
        if doc.get("type") == "brewery":
            out.append(([d["id"]], d["id"]))
        elif doc.get("type") == "beer" and doc.get("brewery_id"):
            out.append(([doc["brewery_id"], d["id"]], d["id"]))
    return out


def location_key(doc):
    """by_location's key: the JS comma operator tests only the last operand."""
    if doc.get("city"):
        return [doc.get("country"), doc.get("state"), doc.get("city")]
    if doc.get("state"):
        return [doc.get("country"), doc.get("state")]
    if doc.get("country"):
        return [doc.get("country")]
    return None


def test_brewery_beers_total_and_all_ids(beer, beer_docs):
    expected = brewery_beers_expected(beer_docs)
    body = beer.query("beer", "brewery_beers", stale="false")
    assert body["total_rows"] == len(expected) == 7303
    assert sorted(r["id"] for r in body["rows"]) == sorted(i for _, i in expected)
    assert all(r["value"] is None for r in body["rows"])


def test_skip_limit_pagination_walks_every_row_once(beer):
    seen = []
    for page in range(100):
        rows = beer.query("beer", "brewery_beers", stale="ok", skip=page * 1000, limit=1000)["rows"]
        if not rows:
            break
        seen += [r["id"] for r in rows]
    assert len(seen) == 7303 == len(set(seen))
    full = [r["id"] for r in beer.query("beer", "brewery_beers", stale="ok")["rows"]]
    assert seen == full


def test_by_location_counts_at_every_group_level(beer, beer_docs):
    keys = [k for k in (location_key(d["doc"]) for d in beer_docs) if k is not None]
    total = beer.query("beer", "by_location", stale="false")["rows"]
    assert total == [{"key": None, "value": len(keys)}]
    for level in (1, 2, 3):
        expected = collections.Counter(json.dumps(k[:level]) for k in keys)
        rows = beer.query("beer", "by_location", group_level=level)["rows"]
        assert {json.dumps(r["key"]): r["value"] for r in rows} == dict(expected)
        assert len(rows) == len(expected)
    exact = beer.query("beer", "by_location", group=True)["rows"]
    assert {json.dumps(r["key"]): r["value"] for r in exact} == dict(collections.Counter(json.dumps(k) for k in keys))


def test_range_with_string_range_end(beer, beer_docs):
    brewery = "21st_amendment_brewery_cafe"
    rows = beer.query("beer", "brewery_beers", startkey=[brewery], endkey=[brewery, "\u0fff"])["rows"]
    beers = sorted(d["id"] for d in beer_docs if d["doc"].get("brewery_id") == brewery)
    assert [r["id"] for r in rows] == [brewery] + beers
    united = beer.query("beer", "by_location", reduce=False,
                        startkey=["United States", "California"],
                        endkey=["United States", "California", "\u0fff"])["rows"]
    assert united and all(r["key"][:2] == ["United States", "California"] for r in united)


def test_descending_is_the_exact_reverse(beer):
    forward = beer.query("beer", "brewery_beers")["rows"]
    backward = beer.query("beer", "brewery_beers", descending=True)["rows"]
    assert backward == forward[::-1]
    brewery = "21st_amendment_brewery_cafe"
    rows = beer.query("beer", "brewery_beers", descending=True,
                      startkey=[brewery, "\u0fff"], endkey=[brewery])["rows"]
    assert rows[-1]["id"] == brewery and len(rows) > 1


def test_keys_follow_the_given_order(beer):
    keys = [["abbey_wright_brewing_valley_inn"], ["21st_amendment_brewery_cafe"], ["no-such"]]
    rows = beer.query("beer", "brewery_beers", keys=keys)["rows"]
    assert [r["id"] for r in rows] == ["abbey_wright_brewing_valley_inn", "21st_amendment_brewery_cafe"]
    status, _, body = beer.request("POST", "/_design/beer/_view/brewery_beers",
                                   json.dumps({"keys": keys[::-1]}).encode())
    assert status == 200
    assert [r["id"] for r in json.loads(body)["rows"]] == ["21st_amendment_brewery_cafe",
                                                           "abbey_wright_brewing_valley_inn"]


def test_startkey_docid_pagination_and_include_docs(beer, beer_docs):
    first = beer.query("beer", "brewery_beers", limit=3)["rows"]
    rest = beer.query("beer", "brewery_beers", limit=2, startkey=first[1]["key"],
                      startkey_docid=first[1]["id"], skip=1)["rows"]
    assert rest[0] == first[2]
    by_id = {d["id"]: d["doc"] for d in beer_docs}
    rows = beer.query("beer", "brewery_beers", limit=5, include_docs=True)["rows"]
    for row in rows:
        assert row["doc"]["json"] == by_id[row["id"]]
        assert row["doc"]["meta"]["id"] == row["id"]


def test_conformance_script_passes(beer_server):
    proc = subprocess.run([sys.executable, str(conformance_script("beer_sample_views.py")),
                           str(beer_server.views_port), str(SHARED / "data" / "beer-sample")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
