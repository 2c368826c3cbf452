"""The C rows step builds exactly the rows of the Python loop: build_part over the
beer-sample data set (real QuickJS, real ICU) gives identical rows and errors both ways,
and malformed emits fail with the same error as the loop."""
from __future__ import annotations

import gzip
import json
from types import ModuleType

import pytest

from cbserver.views import build_part as build_part_module
from cbserver.views import collation
from cbserver.views.build_part import build_part, python_rows
from cbserver.views.collation import python_sort_key
from cbserver.views.js import JsRuntime

from .conftest import BEER_DIR

pytest.importorskip("cbserver.views._collate")

BEER_MAPS = [view["map"] for view in
             json.loads((BEER_DIR / "design" / "beer.json").read_text())["views"].values()]
#: Maps with keys of every kind, several emits per document and errors on some.
ODD_MAPS = [
    "function (doc, meta) { emit([doc.type, doc.name, {c: doc.country, n: doc.abv}], null);"
    " if (doc.abv) emit(doc.abv, [doc.ibu, doc.srm]); emit(meta.id.length % 7 === 0 ?"
    " -0 : meta.id.length, doc.updated); }",
    "function (doc) { if (doc.name.length % 5 === 0) throw new Error('five'); emit(null); }",
    "function (doc) { if (doc.geo) { emit(doc.geo.lat, doc.geo); emit(true); emit(false); } }",
]
DOCS = [("a", None), ("b", None), ("c", None)]


@pytest.fixture(scope="module")
def c_collate() -> ModuleType:
    module = collation.load_c()
    assert module is not None
    return module


@pytest.fixture(scope="module")
def beer_records() -> list[tuple[bytes, tuple]]:
    """The beer-sample documents as live engine records, plus one expired and one not JSON."""
    with gzip.open(BEER_DIR / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        docs = [json.loads(line) for line in lines]
    records = [(d["id"].encode(), (json.dumps(d["doc"]).encode(), 0, n + 1, 0, n + 1, 0, 0.0))
               for n, d in enumerate(docs)]
    records.append((b"expired", (b'{"type": "beer"}', 0, 1, 0, 1, 50, 0.0)))
    records.append((b"binary", (b"\xff\x00", 0, 1, 0, 1, 0, 0.0)))
    return records


def python_build(monkeypatch, runtime: JsRuntime, records, start: int, stop: int):
    """build_part with the Python rows loop and the Python sort keys."""
    with monkeypatch.context() as patch:
        patch.setattr(build_part_module, "ROWS", python_rows)
        patch.setattr(build_part_module, "sort_key", python_sort_key)
        return build_part(runtime, records, 100.0, start, stop)


def test_build_part_uses_the_c_rows_unless_told_not_to(c_collate):
    c_in_use = collation.C_COLLATE is not None
    assert build_part_module.ROWS is (c_collate.rows if c_in_use else python_rows)


@pytest.mark.parametrize("maps", [BEER_MAPS, ODD_MAPS], ids=["beer", "odd"])
def test_beer_sample_rows_and_errors_are_the_same(monkeypatch, c_collate, beer_records, maps):
    runtime = JsRuntime(maps, {})
    collation._string_cache.clear()
    monkeypatch.setattr(build_part_module, "ROWS", c_collate.rows)
    fast = build_part(runtime, beer_records, 100.0, 0, len(beer_records))
    collation._string_cache.clear()
    reference = python_build(monkeypatch, runtime, beer_records, 0, len(beer_records))
    assert fast == reference
    rows, errors = fast
    assert sum(map(len, rows)) >= len(beer_records) - 2
    assert all(type(row[0]) is bytes and len(row) == 5 for view in rows for row in view)
    if maps is ODD_MAPS:
        assert errors and {error[1] for error in errors} == {1}


def test_a_slice_gives_the_same_rows(monkeypatch, c_collate, beer_records):
    runtime = JsRuntime(ODD_MAPS, {})
    monkeypatch.setattr(build_part_module, "ROWS", c_collate.rows)
    assert (build_part(runtime, beer_records, 100.0, 1000, 1500)
            == python_build(monkeypatch, runtime, beer_records, 1000, 1500))


def test_rows_keep_emit_order_and_share_the_cached_string_keys(c_collate):
    entries = [[2, 1, 0, "k", 1], [0, 0, 0, [1, "k"], None], [0, 0, 1, "k", {"v": 2}]]
    rows = c_collate.rows(entries, DOCS, 3)
    assert rows == python_rows(entries, DOCS, 3)
    assert rows[0][0][1:] == ("a", 0, [1, "k"], None) and rows[0][1][1] == "a"
    assert rows[1][0][0] is rows[0][1][0] is collation._string_cache["k"]
    assert rows[2] == []
    assert c_collate.rows((), DOCS, 0) == [] and c_collate.rows([], DOCS, -2) == []


class Emit:
    """An emit that is an iterable but neither a list nor a tuple."""

    def __init__(self, *fields) -> None:
        self.fields = fields

    def __iter__(self):
        return iter(self.fields)


#: Emits and views a map result never holds, each failing somewhere else in the loop.
MALFORMED = [
    ([[0, 0, 0, "k"]], DOCS, 1), ([(0, 0, 0, "k", 1, 2)], DOCS, 1), ([7], DOCS, 1),
    ([Emit(0, 0)], DOCS, 1), ([Emit(0, 0, 0, "k", 1, 2)], DOCS, 1),
    ([Emit(0, 0, 0, "k", 1)], DOCS, 1), (["abcde"], DOCS, 1),
    ([[0, 1, 0, "k", 1]], DOCS, 1), ([[0, -1, 0, "k", 1]], DOCS, 2),
    ([[0, "v", 0, "k", 1]], DOCS, 1),
    ([[0, 2 ** 70, 0, "k", 1]], DOCS, 1), ([[3, 0, 0, "k", 1]], DOCS, 1),
    ([[-1, 0, 0, "k", 1]], DOCS, 1), ([[0.5, 0, 0, "k", 1]], DOCS, 1),
    ([[0, 0, 0, "k", 1]], [("x",), None], 1), ([[0, 0, 0, "k", 1]], [()], 1),
    ([[0, 0, 0, "k", 1]], {0: ["from a dict"]}, 1), ([[0, 0, 0, b"key", 1]], DOCS, 1),
    ([[9, 5, 0, b"key", 1]], DOCS, 1), ([[9, 0, 0, b"key", 1]], DOCS, 1),
    ([[0, 0, 0, "k", 1]], DOCS, "1"), (5, DOCS, 1), ([[0, 0, 0, "k", 1], None], DOCS, 1),
]


def outcome(rows, args) -> tuple:
    try:
        return ("ok", rows(*args))
    except Exception as exc:  # noqa: BLE001 - the very exception is compared
        return (type(exc), str(exc))


@pytest.mark.parametrize("args", MALFORMED, ids=lambda args: repr(args)[:40])
def test_malformed_emits_fail_as_the_python_loop_does(c_collate, args):
    assert outcome(c_collate.rows, args) == outcome(python_rows, args)


def test_rows_checks_its_arguments(c_collate):
    with pytest.raises(TypeError, match="exactly 3 arguments"):
        c_collate.rows([], DOCS)
