"""Mapping documents cut down to the members the maps read gives exactly the rows,
errors and base64 fallbacks of mapping them whole: over the beer-sample data set with
its design document, and over generated documents of every kind with real QuickJS."""
from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cbserver.views import map_batch
from cbserver.views.build_part import build_part
from cbserver.views.js import JsRuntime
from cbserver.views.map_batch import map_documents

from .conftest import BEER_DIR
from .json_texts import OBJECTS

_json_cut = pytest.importorskip("cbserver.views._json_cut")

BEER_MAPS = [view["map"] for view in
             json.loads((BEER_DIR / "design" / "beer.json").read_text())["views"].values()]
#: Maps the analysis can cut for, over the generated documents' members (see json_texts):
#: reads of kept, nested and missing members, a throw on some documents, meta, no document.
MAPS = [
    "function (doc, meta) { emit(doc.type, [doc.a, meta.id, meta.type, meta.rev]); }",
    "function (doc, meta) { if (doc.city) emit([doc.city, doc.type], doc.a.length); }",
    "function (d, m) { emit(m.type, typeof d.type); for (var k in d.a) emit(k, d.a[k]); }",
    "function () { emit(1, null); }",
]


class CountingCut:
    """The real C cut, counting the documents it made shorter (to prove the cut ran)."""

    def __init__(self) -> None:
        self.shortened = 0

    def __call__(self, values, names):
        cut = _json_cut.cut(values, names)
        self.shortened += sum(len(a) < len(b) for a, b in zip(cut, values))
        return cut


@pytest.fixture
def counting_cut(monkeypatch) -> CountingCut:
    """Map batches cut with the C cutter even where CBSERVER_PURE_PYTHON turned it off."""
    cut = CountingCut()
    monkeypatch.setattr(map_batch, "CUT", cut)
    return cut


def record(value: bytes, seqno: int) -> tuple:
    """A live engine record (value, flags, cas, datatype, seqno, expiry, lock expiry)."""
    return (value, seqno % 3, 0x1234_0000 + seqno, 0, seqno, 0, 0.0)


def test_the_beer_sample_views_are_the_same_with_and_without_the_cut(counting_cut):
    with gzip.open(BEER_DIR / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        docs = [json.loads(line) for line in lines]
    records = [(d["id"].encode(), record(json.dumps(d["doc"], ensure_ascii=n % 2 == 0).encode(),
                                         n + 1)) for n, d in enumerate(docs)]
    cut = JsRuntime(BEER_MAPS, {})
    assert cut.read_members == (b"brewery_id", b"city", b"country", b"state", b"type")
    with_cut = build_part(cut, records, 0.0, 0, len(records))
    assert counting_cut.shortened == len(records)
    counting_cut.shortened = 0
    whole = build_part(JsRuntime(BEER_MAPS, {}, cut_documents=False), records, 0.0, 0,
                       len(records))
    assert counting_cut.shortened == 0
    assert with_cut == whole
    assert [len(rows) for rows in with_cut[0]] == [len(records), 1411]


def map_cut_and_whole(maps: list[str], docs: list, members: tuple[bytes, ...]) -> tuple:
    """Map ``docs`` cut by the C cutter (the maps must read exactly ``members``) and whole."""
    runtimes = (JsRuntime(maps, {}), JsRuntime(maps, {}, cut_documents=False))
    assert runtimes[0].read_members == members
    previous, map_batch.CUT = map_batch.CUT, _json_cut.cut
    try:
        return tuple(map_documents(runtime, docs) for runtime in runtimes)
    finally:
        map_batch.CUT = previous


#: Documents of every kind: generated objects, other JSON texts, JSON-like text that is
#: not JSON, invalid UTF-8, the batch separator, empty values.
VALUES = st.one_of(
    OBJECTS.map(lambda generated: generated[0]),
    OBJECTS.map(lambda generated: generated[0][:-1]),
    st.sampled_from([b"[1, 2]", b"12", b'"text"', b"null", b"", b" ", b'{"a": NaN}',
                     b'{"type": "x", "a": 01}', b'{"type": "\xff"}', b'{"type": "\x1e"}',
                     b'{"type": 1}\x1e', b"\xff\xfe", b'{"a": "\\x41"}', b'{"a": 1.}',
                     b'{"type": ' + b"[" * 70 + b"]" * 70 + b"}",
                     b'{"t\\u0079pe": "escaped", "type": "plain", "a": [1]}',
                     b'{"a": {"a": 1}, "city": "c", "constructor": 2, "a": "last"}']),
    st.binary(max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(VALUES, min_size=1, max_size=12))
def test_generated_documents_map_the_same_with_and_without_the_cut(values):
    docs = [(f"doc{n}", record(value, n)) for n, value in enumerate(values)]
    cut, whole = map_cut_and_whole(MAPS, docs, (b"a", b"city", b"type"))
    assert cut == whole


#: Maps that try to give every document an inherited getter or method, which would see
#: the (cut) document as its receiver; reads of ``probe`` are what the cut keeps.
PROTOTYPE_MAPS = [
    "function (doc, meta) { Object.defineProperty(Object.prototype, 'probe', "
    "{get: function () { return JSON.stringify(this); }}); emit(doc.probe, null); }",
    "function (doc, meta) { Object.prototype.probe = 1; emit(doc.probe, doc.type); }",
]


@pytest.mark.parametrize("source", PROTOTYPE_MAPS, ids=["getter", "assignment"])
def test_maps_cannot_extend_object_prototype_so_cut_documents_stay_invisible(source):
    docs = [(f"doc{n}", record(b'{"type": "t", "secret": %d}' % n, n)) for n in range(3)]
    cut, whole = map_cut_and_whole(
        [source], docs, (b"probe",) if "defineProperty" in source else (b"probe", b"type"))
    assert cut == whole
    assert not any(b"secret" in json.dumps(row).encode() for row in cut.rows)
    if "defineProperty" in source:
        assert [error[2] for error in cut.errors] == ["TypeError: object is not extensible"] * 3
    else:
        assert [row[3:] for row in cut.rows] == [[None, "t"]] * 3
