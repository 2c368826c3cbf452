"""Bad input and runaway functions: clear typed errors, and the server keeps serving."""
import json

from .engine_helpers import ddoc, make_views, put, query


def test_throwing_map_reports_the_doc_and_indexes_the_others():
    bucket, views, _ = make_views()
    put(bucket, "good", {"n": 1})
    put(bucket, "bad", {"n": 2})
    ddoc(views, bucket, "d", {"v": "function (doc, meta) { if (doc.n === 2) throw new Error('boom ' + meta.id); emit(doc.n, null); }"})
    result, rows = query(views, bucket, "d", "v")
    assert [r["id"] for r in rows] == ["good"]
    assert any("bad" in e["reason"] and "boom bad" in e["reason"] for e in result.errors)
    put(bucket, "bad", {"n": 3})
    result, rows = query(views, bucket, "d", "v")
    assert [r["id"] for r in rows] == ["good", "bad"] and result.errors == []


def test_infinite_loop_and_huge_allocation_are_stopped():
    bucket, views, _ = make_views(time_limit=0.2, memory_limit=32 * 1024 * 1024)
    for key in ("a", "loop", "oom", "z"):
        put(bucket, key, {"k": key})
    ddoc(views, bucket, "d", {
        "v": "function (doc) { if (doc.k === 'loop') while (true) {}; "
             "if (doc.k === 'oom') { var a = []; while (true) a.push(new Array(1e5).join('x')); } "
             "emit(doc.k, null); }",
        "other": "function (doc) { emit(1, doc.k); }"})
    result, rows = query(views, bucket, "d", "v")
    assert [r["id"] for r in rows] == ["a", "z"]
    reasons = " ".join(e["reason"] for e in result.errors)
    assert "interrupted" in reasons and "out of memory" in reasons
    put(bucket, "b", {"k": "b"})
    _, rows = query(views, bucket, "d", "v")
    assert [r["id"] for r in rows] == ["a", "b", "z"]


def test_a_json_document_too_big_to_parse_is_an_error_not_a_base64_document():
    bucket, views, _ = make_views(memory_limit=16 * 1024 * 1024)
    put(bucket, "big", b"[" + b"0," * 1_500_000 + b"0]")
    put(bucket, "small", {"n": 1})
    ddoc(views, bucket, "d", {"v": "function (doc, meta) { emit(meta.id, meta.type); }"})
    result, rows = query(views, bucket, "d", "v")
    assert [(r["id"], r["value"]) for r in rows] == [("small", "json")]
    assert [e["reason"] for e in result.errors] == [
        "map of `big` failed: view `v`: map function stopped: InternalError: out of memory"]


def test_a_map_throwing_null_is_reported_as_possibly_out_of_memory():
    bucket, views, _ = make_views()
    put(bucket, "a", {"n": 1})
    put(bucket, "b", {"n": 2})
    ddoc(views, bucket, "d", {"v": "function (doc, meta) { if (doc.n === 2) throw null;"
                                   " emit(meta.id, null); }"})
    result, rows = query(views, bucket, "d", "v")
    assert [r["id"] for r in rows] == ["a"]
    assert [e["reason"] for e in result.errors] == [
        "map of `b` failed: view `v`: map function stopped: InternalError: out of memory "
        "(or it threw null)"]


def test_reduce_errors_are_reported_not_raised():
    bucket, views, _ = make_views()
    put(bucket, "a", {"v": "text"})
    ddoc(views, bucket, "d", {"s": ("function (doc) { emit(doc.v, doc.v); }", "_sum"),
                              "j": ("function (doc) { emit(1, 1); }", "function () { throw new Error('nope'); }")})
    result, rows = query(views, bucket, "d", "s")
    assert rows == [] and result.errors[-1]["reason"] == "Builtin _sum function requires map values to be numbers"
    result, rows = query(views, bucket, "d", "j")
    assert rows == [] and "nope" in result.errors[-1]["reason"]


def test_javascript_reduce_with_rereduce_over_many_rows():
    bucket, views, _ = make_views()
    for i in range(2500):
        put(bucket, f"k{i:04d}", {"g": i % 2, "n": i})
    reduce = ("function (keys, values, rereduce) { if (rereduce) return {sum: sum(values.map(function (v) { return v.sum; })), "
              "calls: 1 + sum(values.map(function (v) { return v.calls; }))}; return {sum: sum(values), calls: 0}; }")
    ddoc(views, bucket, "d", {"n": ("function (doc) { emit(doc.g, doc.n); }", reduce),
                              "st": ("function (doc) { emit(doc.g, doc.n); }", "_stats")})
    _, rows = query(views, bucket, "d", "n")
    assert rows[0]["value"]["sum"] == sum(range(2500)) and rows[0]["value"]["calls"] >= 1
    _, rows = query(views, bucket, "d", "n", group=True)
    assert [r["value"]["sum"] for r in rows] == [sum(range(0, 2500, 2)), sum(range(1, 2500, 2))]
    _, rows = query(views, bucket, "d", "st", group=True)
    assert rows[1]["value"] == {"sum": sum(range(1, 2500, 2)), "count": 1250, "min": 1, "max": 2499,
                                "sumsqr": sum(i * i for i in range(1, 2500, 2))}


def test_invalid_design_documents_over_http(scratch):
    _, http = scratch
    bad = [{"views": {"v": {"map": "function (doc) { emit(doc.x "}}},
           {"views": {"v": {"map": "function (doc) { emit(1, 1); }", "reduce": "_median"}}},
           {"views": {"v": {"reduce": "_count"}}},
           {"views": {"v": {"map": "42"}}}]
    for body in bad:
        status, reply = http.put_ddoc("broken", body)
        assert status == 400 and reply["error"] == "invalid_design_document", reply
    status, _, body = http.request("PUT", "/_design/broken", b"{not json")
    assert status == 400 and json.loads(body)["error"] == "invalid_design_document"
    status, _, _ = http.request("PUT", "/_design/broken", b"{}", content_type="text/plain")
    assert status == 400
    status, _, body = http.request("GET", "/_design/broken")
    assert status == 404 and json.loads(body) == {"error": "not_found", "reason": "missing"}


def test_design_document_lifecycle_and_meta_header(scratch):
    _, http = scratch
    ddoc = {"views": {"all": {"map": "function (doc, meta) { emit(meta.id, null); }"}}}
    assert http.put_ddoc("dev_life", ddoc) == (201, {"ok": True, "id": "_design/dev_life"})
    status, headers, body = http.request("GET", "/_design/dev_life")
    assert status == 200 and json.loads(body)["views"] == ddoc["views"]
    meta = json.loads(headers["X-Couchbase-Meta"])
    assert meta["id"] == "_design/dev_life" and meta["type"] == "json" and meta["rev"]
    status, _, body = http.request("DELETE", "/_design/dev_life")
    assert status == 200 and json.loads(body) == {"ok": True, "id": "_design/dev_life"}
    assert http.request("DELETE", "/_design/dev_life")[0] == 404


def test_query_errors_over_http(scratch):
    kv, http = scratch
    kv.load([("qe1", b'{"n": 1}')])
    assert http.put_ddoc("qe", {"views": {"m": {"map": "function (doc, meta) { if (meta.id.indexOf('qe') === 0) emit(doc.n, null); }"},
                                          "r": {"map": "function (doc) { emit(doc.n, 1); }", "reduce": "_count"}}})[0] == 201
    cases = [
        (dict(reduce=True), "m", 400, "Invalid URL parameter `reduce` for map view."),
        (dict(group_level=1), "m", 400, None),
        (dict(limit="ten"), "m", 400, None),
        (dict(skip=-1), "m", 400, None),
        (dict(descending="yes"), "m", 400, None),
        (dict(stale="sometimes"), "m", 400, None),
        (dict(startkey=2, endkey=1), "m", 400, None),
        (dict(count=3), "m", 400, "Query parameter `count` is now 'limit'."),
        (dict(keys=[1], reduce=True), "r", 400, None),
        (dict(group=True, group_level=2), "r", 400, None),
    ]
    for params, view, status, reason in cases:
        got, body = http.query_raw("qe", view, **params)
        assert got == status and body["error"] == "query_parse_error", (params, body)
        if reason:
            assert body["reason"] == reason
    status, _, body = http.request("GET", "/_design/qe/_view/m?startkey=%7Bbad")
    assert status == 400 and json.loads(body)["error"] == "query_parse_error"
    got, body = http.query_raw("qe", "missing")
    assert got == 404 and body["error"] == "not_found" and "missing" in body["reason"]
    got, body = http.query_raw("nope", "m")
    assert got == 404 and body["error"] == "not_found"
    assert http.query("qe", "m", stale="false")["rows"] == [{"id": "qe1", "key": 1, "value": None}]


def test_runaway_map_over_http_does_not_stop_the_server(scratch, beer):
    kv, http = scratch
    kv.load([("loop1", b'{"spin": true}'), ("calm1", b'{"spin": false}')])
    status, _ = http.put_ddoc("spin", {"views": {"v": {
        "map": "function (doc, meta) { if (doc.spin === true) { while (true) {} } if (doc.spin === false) emit(meta.id, null); }"}}})
    assert status == 201
    body = http.query("spin", "v", stale="false")
    assert body["rows"] == [{"id": "calm1", "key": "calm1", "value": None}]
    assert any("loop1" in e["reason"] for e in body["errors"])
    assert beer.query("beer", "brewery_beers", limit=1)["total_rows"] == 7303
