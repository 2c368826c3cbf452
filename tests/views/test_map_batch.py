"""Batched mapping: every document keeps its own emits whatever its encoding and position."""
import json

from .engine_helpers import ddoc, make_views, put, query

ECHO = {"echo": "function (doc, meta) { emit(meta.id, [meta.type, doc]); }"}


def test_mixed_ascii_utf8_binary_and_separator_documents_map_to_their_own_ids():
    bucket, views, _ = make_views()
    expected = {}
    for i in range(30):
        key = f"doc{i:02d}"
        if i % 5 == 0:
            value = {"text": f"caf\u00e9 \u6f22\u5b57 {i}"}
            put(bucket, key, json.dumps(value, ensure_ascii=False).encode())
            expected[key] = ["json", value]
        elif i % 7 == 0:
            put(bucket, key, b"\xff\xfe" + bytes([i]))
            expected[key] = ["base64", None]
        elif i % 11 == 0:
            put(bucket, key, b'{"a": "x\x1ey"}')
            expected[key] = ["base64", None]
        else:
            put(bucket, key, {"n": i})
            expected[key] = ["json", {"n": i}]
    ddoc(views, bucket, "d", ECHO)
    _, rows = query(views, bucket, "d", "echo")
    assert [row["id"] for row in rows] == sorted(expected)
    for row in rows:
        kind, doc = expected[row["id"]]
        assert row["key"] == row["id"] and row["value"][0] == kind
        if doc is not None:
            assert row["value"][1] == doc


def test_emits_per_document_keep_their_order_and_throwing_views_lose_only_their_rows():
    bucket, views, _ = make_views()
    for i in range(5):
        put(bucket, f"k{i}", {"n": i})
    ddoc(views, bucket, "d", {
        "many": "function (doc, meta) { emit(0, doc.n); emit(0, doc.n); "
                "if (doc.n == 2) throw 'no'; }",
        "one": "function (doc, meta) { emit(doc.n, null); }"})
    _, many = query(views, bucket, "d", "many")
    assert [(row["id"], row["value"]) for row in many] == [
        (f"k{i}", i) for i in (0, 0, 1, 1, 3, 3, 4, 4)]
    result, one = query(views, bucket, "d", "one")
    assert [row["key"] for row in one] == [0, 1, 2, 3, 4]
    assert any("k2" in error["reason"] for error in result.errors)


def test_thousands_of_emits_of_one_document_keep_their_emit_order():
    bucket, views, _ = make_views()
    put(bucket, "many", {"n": 2500})
    put(bucket, "few", {"n": 2})
    ddoc(views, bucket, "d", {"v": "function (doc, meta) { for (var i = 0; i < doc.n; i++)"
                                   " emit('same', [meta.id, i]); }"})
    _, rows = query(views, bucket, "d", "v")
    assert [row["value"] for row in rows] == (
        [["few", i] for i in range(2)] + [["many", i] for i in range(2500)])



def test_ids_holding_the_separator_or_json_syntax_reach_meta_id_unchanged():
    bucket, views, _ = make_views()
    keys = ["plain", "sep\x1einside", "\x1elead", "[1]", '"quoted"', "caf\u00e9", "tail\x1e"]
    for key in keys:
        put(bucket, key, {"k": key})
    ddoc(views, bucket, "d", {"ids": "function (doc, meta) { emit(meta.id, doc.k); }"})
    _, rows = query(views, bucket, "d", "ids")
    assert sorted((row["key"], row["value"]) for row in rows) == sorted((k, k) for k in keys)
    bucket, views, _ = make_views()
    for key in keys[3:]:
        put(bucket, key, {"k": key})
    ddoc(views, bucket, "d", {"ids": "function (doc, meta) { emit(meta.id, doc.k); }"})
    _, rows = query(views, bucket, "d", "ids")
    assert sorted(row["key"] for row in rows) == sorted(keys[3:])
