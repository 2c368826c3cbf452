"""The static analysis of map sources names the members a map can read, and gives up
(None: map whole documents) on every way a map could reach its document otherwise."""
from __future__ import annotations

import json

import pytest

from cbserver.views.js import JsRuntime
from cbserver.views import map_batch
from cbserver.views.map_reads import map_reads, param_reads, read_members, read_meta

from .conftest import BEER_DIR

BEER_MAPS = [view["map"] for view in
             json.loads((BEER_DIR / "design" / "beer.json").read_text())["views"].values()]
F = "function (doc, meta) { %s }"


@pytest.mark.parametrize("source, expected", [
    (F % "emit(doc.type, null);", {"type"}),
    (F % "emit(doc . type, doc\n.\ncity);", {"type", "city"}),
    (F % "emit(doc\t.type);", {"type"}),
    ("function(d) { emit(d.a, d.b_c$); }", {"a", "b_c$"}),
    ("function named($doc, meta) { emit($doc.a, doc.b); }", {"a"}),     # doc is not $doc
    ("function(doc$) { emit(doc$.a, doc.b, doc); }", {"a"}),
    ("function(_doc) { emit(_doc.a, doc, my_doc.c); }", {"a"}),
    (F % "emit(doc.a.b.c, doc.x[0]);", {"a", "x"}),
    (F % "if (doc.type == 'beer') emit(doc.abv);", {"abv", "type"}),
    (F % "// doc.type is read\n emit(meta.id);", {"type"}),             # comments count
    (F % "emit('doc.type');", {"type"}),
    (F % "emit(meta.id);", set()),
    ("function() { emit(1); }", set()),                                 # zero parameters
    ("function(  ) { emit(1); }", set()),
    ("  function(doc,meta){emit(doc.a)}", {"a"}),
    ("function doc(doc) { emit(doc.a); }", {"a"}),                      # name in header
    ("function(doc, doc) { emit(doc.a); }", {"a"}),
    ("function(meta, doc) { emit(meta.a, doc.b); }", {"a"}),            # first param is doc
    (F % "emit(doc);", None),                                           # bare use
    (F % "emit(doc.type, doc);", None),
    (F % "emit(meta.doc);", None),
    (F % 'emit(doc["type"]);', None),
    (F % "emit(doc[k]);", None),
    (F % "emit(doc?.type);", None),
    (F % "emit(doc.0);", None),
    (F % "doc = {}; emit(doc.a);", None),
    (F % "emit(JSON.stringify(doc));", None),
    (F % "for (var k in doc) emit(k);", None),
    (F % "emit(Object.keys(doc));", None),
    (F % "emit(...doc);", None),
    (F % "emit(`${doc}`);", None),
    (F % "emit({doc});", None),
    (F % "emit(doc /* c */ .a);", None),
    (F % "// doc\n emit(1);", None),                                   # a comment naming doc
    (F % "emit('doc');", None),
    (F % "emit(doc.hasOwnProperty('a'));", None),
    (F % "emit(doc.constructor);", None),
    (F % "emit(doc.__proto__);", None),
    (F % "emit(doc.toString());", None),
    (F % "emit(doc.valueOf());", None),
    (F % "emit(doc.__lookupGetter__('a'));", None),
    (F % "emit(arguments[0].type);", None),
    (F % "emit(eval('doc.type'));", None),
    (F % "var e = eval; emit(1);", None),
    (F % "emit('arguments');", None),                                   # strings count too
    (F % 'emit(this["\\u0064oc"]);', None),                              # \u escapes
    (F % "emit(\\u0064oc.a);", None),
    (F % "emit(doc.caf\u00e9);", None),                                 # non-ASCII source
    (F % "emit(doc.a, '\u00e9');", None),
    ("(doc, meta) => { emit(doc.a); }", None),                          # arrow function
    ("doc => emit(doc.a)", None),
    ("function({type}, meta) { emit(type); }", None),                   # destructuring
    ("function([a], meta) { emit(a); }", None),
    ("function(doc = {}, meta) { emit(doc.a); }", None),                # default
    ("function(...args) { emit(args[0].a); }", None),                   # rest
    ("async function(doc) { emit(doc.a); }", None),
    ("function* (doc) { emit(doc.a); }", None),
    ("(function(doc) { emit(doc.a); })", None),
    ("/* map */ function(doc) { emit(doc.a); }", None),
    ("functiondoc(doc) { emit(doc.a); }", None),
    ("", None),
    # exactly one function expression: what the source evaluates to must be all of it
    ('function(doc) { var s = "{"; emit(doc.a); }, function(x) { emit(x, "}"); }', None),
    ("function(doc) { emit(doc.a); }, new Function('d', 'emit(d)')", None),
    ("function(doc) { emit(doc.a); } && function(x) { emit(x); }", None),
    ("function(doc) { emit(doc.a); };", None),
    ("function(doc) { emit(doc.a); } // trailing comment", None),
    ("function(doc) { emit(doc.a); }, Function.prototype.toString = "
     "function() { return 'function(doc) { emit(doc.a); }'; }, function(x) { emit(x); }",
     None),
    ("function(doc) { emit(doc.a); ", None),                            # does not compile
    ("\n  function(doc) { emit(doc.a); }\n\n", {"a"}),
])
def test_map_reads(source, expected):
    assert map_reads(source) == expected


def test_the_beer_sample_maps_read_their_five_members():
    assert read_members(BEER_MAPS) == ("brewery_id", "city", "country", "state", "type")


def test_the_union_is_sorted_and_one_map_that_gives_up_gives_up_for_all():
    assert read_members([F % "emit(doc.b);", "function(d) { emit(d.a, d.b); }",
                         "function() {}"]) == ("a", "b")
    assert read_members([F % "emit(doc.b);", F % "emit(doc);"]) is None
    assert read_members([F % "emit(1);"]) == ()
    assert read_members([]) == ()


def test_the_runtime_keeps_the_names_as_utf8_through_fresh_and_can_be_told_not_to_cut():
    runtime = JsRuntime(BEER_MAPS, {})
    names = (b"brewery_id", b"city", b"country", b"state", b"type")
    assert runtime.read_members == names
    assert runtime.fresh().read_members == names
    whole = JsRuntime(BEER_MAPS, {}, cut_documents=False)
    assert whole.read_members is None and whole.fresh().read_members is None
    assert JsRuntime([F % "emit(doc);"], {}).read_members is None


@pytest.mark.parametrize("source, expected", [
    (F % "emit(doc.type, meta.id);", {"id"}),
    (F % "emit(meta.rev, [meta.flags, meta . expiration]);", {"rev", "flags", "expiration"}),
    ("function (d, m) { emit(m.type, d.meta); }", {"type"}),
    ("function (doc) { emit(meta.rev); }", set()),                      # a global, not meta
    ("function () { emit(1); }", set()),
    ("function (doc, doc) { emit(doc.rev); }", {"rev"}),                # doc names meta here
    (F % "emit(meta);", None),
    (F % "emit(JSON.stringify(meta));", None),
    (F % "emit(Object.keys(meta));", None),
    (F % 'emit(meta["rev"]);', None),
    (F % "emit(meta.hasOwnProperty('rev'));", None),
    (F % "emit(arguments[1].rev);", None),
    (F % "emit(eval('meta.rev'));", None),
    ("function (doc, meta) { emit(meta.id); }, function (d, m) { emit(m); }", None),
])
def test_meta_reads(source, expected):
    assert param_reads(source, 1) == expected


def test_the_beer_sample_maps_read_only_the_meta_id_so_batches_leave_the_rest_out():
    assert read_meta(BEER_MAPS) == ("id",)
    runtime = JsRuntime(BEER_MAPS, {})
    assert runtime.full_meta is False and runtime.fresh().full_meta is False
    assert JsRuntime(BEER_MAPS, {}, cut_documents=False).full_meta is True
    assert JsRuntime([F % "emit(meta.id, meta.type);"], {}).full_meta is False
    for read in ("meta.rev", "meta.flags", "meta.expiration", "meta"):
        assert JsRuntime([F % f"emit(meta.id, {read});"], {}).full_meta is True


def test_a_batch_without_full_meta_computes_none_of_it(monkeypatch):
    def refuse(records):
        raise AssertionError("the meta texts of a batch no map reads were computed")

    monkeypatch.setattr(map_batch, "_meta_texts", refuse)
    doc = (b'{"type": "brewery"}', 7, 99, 0, 5, 0, 0.0)
    result = map_batch.map_documents(JsRuntime(BEER_MAPS, {}), [("b1", doc)])
    assert result.rows == [[0, 0, 0, ["b1"], None]]
    with pytest.raises(AssertionError, match="meta texts"):
        map_batch.map_documents(JsRuntime([F % "emit(meta.rev);"], {}), [("b1", doc)])


def test_meta_without_the_full_members_holds_only_id_and_type():
    runtime = JsRuntime(["function (d, m) { emit(Object.keys(m), m.type); }"], {})
    answer = runtime.map_batch('{"a": 1}', '["k"]', "", "", "0", "0", "j", False)
    assert '[["id","type"],"json"]' in answer
    full = runtime.map_batch('{"a": 1}', '["k"]', "3", "0" * 32, "0", "0", "j", True)
    assert '[["id","rev","flags","expiration","type"],"json"]' in full
