"""Full builds split over threads: the same index, order and errors as the serial build."""
import gzip
import json
import threading

import pytest

from cbserver.engine import Bucket, BucketSettings
from cbserver.views.build_part import build_part
from cbserver.views.ddocs import parse_design_document
from cbserver.views.indexer import DesignIndex
from cbserver.views.js import JsRuntime
from cbserver.views.parallel_build import parallel_build

from .conftest import BEER_DIR
from .engine_helpers import Clock

FAILING_VIEWS = {"views": {
    "picky": {"map": "function (doc, meta) { if (doc.bad) throw new Error('bad ' + meta.id);"
                     " emit(doc.n, [meta.id, meta.type]); }", "reduce": "_count"},
    "slow": {"map": "function (doc, meta) { if (doc.loop) { while (true) {} }"
                    " emit([doc.n % 7, meta.id], null); emit(meta.type, 1); }"},
    "raw": {"map": "function (doc, meta) { if (meta.type == 'base64') emit(doc, meta.id); }"}}}


def stored_items(values):
    """Store ``{key: raw bytes}`` in a real engine bucket; return its items."""
    bucket = Bucket(BucketSettings("default"), clock=Clock())
    for key, raw in values.items():
        status, _ = bucket.store("set", key.encode(), raw, 0, 0)
        assert status == 0, status
    return list(bucket.records_snapshot())


def beer_items():
    """The beer-sample documents as stored items."""
    with gzip.open(BEER_DIR / "docs.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return stored_items({r["id"]: json.dumps(r["doc"]).encode() for r in records})


def failing_items():
    """Documents whose maps throw, never end, are not JSON, or are fine."""
    values = {}
    for n in range(600):
        doc = {"n": n}
        if n % 97 == 5:
            doc["bad"] = True
        if n in (123, 444):
            doc["loop"] = True
        values[f"doc{n:04d}"] = json.dumps(doc).encode()
        if n % 50 == 0:
            values[f"blob{n:04d}"] = b"\xff\x00 not json \x1e" + bytes([n % 256])
    values["ünïcode-ключ"] = json.dumps({"n": -1, "s": "日本"}).encode()
    return stored_items(values)


def build(raw_ddoc, items, workers, time_limit=2.0):
    """Build a design index in ``workers`` threads (1: the serial build)."""
    design = DesignIndex(parse_design_document("d", json.dumps(raw_ddoc).encode(), 1), time_limit)
    design.workers = workers
    design.parallel_min_docs = 0
    design.build(items, Clock()())
    return design


def state(design):
    """Every row of every view in index order, the rows per document and the errors."""
    return ({name: list(view._rows) for name, view in design.views.items()},
            {name: view.snapshot() for name, view in design.views.items()},
            list(design.errors.items()))


def test_beer_sample_parallel_index_equals_serial():
    items = beer_items()
    ddoc = json.loads((BEER_DIR / "design" / "beer.json").read_text())
    serial, parallel = build(ddoc, items, 1), build(ddoc, items, 2)
    assert state(parallel) == state(serial)
    assert len(serial.views["brewery_beers"]) > 7000 and not serial.errors


def test_map_errors_runaways_and_base64_equal_serial():
    items = failing_items()
    serial, parallel = build(FAILING_VIEWS, items, 1, 0.3), build(FAILING_VIEWS, items, 2, 0.3)
    assert state(parallel) == state(serial)
    assert "doc0005" in serial.errors and "bad doc0005" in serial.errors["doc0005"]
    assert "map function stopped" in serial.errors["doc0123"]
    assert "map function stopped" in serial.errors["doc0444"]
    assert any(row[3] == "base64" for row in serial.views["slow"]._rows)


def test_parallel_build_keeps_incremental_updates_working():
    items = failing_items()
    design = build(FAILING_VIEWS, items, 2, 0.3)
    bucket = Bucket(BucketSettings("default"), clock=Clock())
    bucket.store("set", b"doc0005", json.dumps({"n": 5}).encode(), 0, 0)
    design.apply([(b"doc0005", bucket.records[b"doc0005"]), (b"doc0006", None)])
    assert "doc0005" not in design.errors
    picky = design.views["picky"].snapshot()
    assert picky["doc0005"] == [[5, ["doc0005", "json"]]] and "doc0006" not in picky


def test_empty_and_tiny_slices_equal_serial():
    runtime = JsRuntime(["function (doc, meta) { emit(meta.id, doc.n); }"], {})
    records, now = stored_items({f"k{n}": b'{"n": %d}' % n for n in range(3)}), Clock()()
    serial = build_part(runtime, records, now, 0, len(records))
    assert parallel_build(runtime, records, now, 5) == serial
    assert parallel_build(runtime, [], now, 2) == build_part(runtime, [], now, 0, 0)


def test_slices_run_on_other_threads_in_contexts_of_their_own(monkeypatch):
    used = []
    runtime = JsRuntime(["function (doc, meta) { emit(meta.id, null); }"], {})
    original = JsRuntime.map_batch

    def recording(self, *args):
        used.append((self, threading.get_ident()))
        return original(self, *args)

    records, now = stored_items({f"k{n:03d}": b"{}" for n in range(40)}), Clock()()
    serial = build_part(runtime, records, now, 0, len(records))
    monkeypatch.setattr(JsRuntime, "map_batch", recording)
    assert parallel_build(runtime, records, now, 4) == serial
    assert len(used) == 4 and len({id(rt) for rt, _ in used}) == 4
    caller = threading.get_ident()
    assert [thread == caller for rt, thread in used if rt is runtime] == [True]
    assert sum(thread == caller for _, thread in used) == 1


def test_a_failing_slice_raises_in_the_caller():
    runtime = JsRuntime(["function (doc, meta) { emit(meta.id, null); }"], {})
    records = stored_items({f"k{n}": b"{}" for n in range(10)})
    records[7] = (records[7][0], None)
    with pytest.raises(TypeError):
        parallel_build(runtime, records, Clock()(), 2)


def test_a_slice_is_collated_batch_by_batch(monkeypatch):
    from cbserver.views import build_part as build_part_module
    from cbserver.views.map_batch import MAP_BATCH

    runtime = JsRuntime(["function (doc, meta) { emit(doc.n, null); }"], {})
    records, now = stored_items({f"k{n:05d}": b'{"n": %d}' % n
                                 for n in range(2 * MAP_BATCH + 7)}), Clock()()
    whole = build_part(runtime, records, now, 0, len(records))
    sizes = []
    rows = build_part_module.ROWS

    def recording(entries, docs, view_count):
        sizes.append(len(docs))
        return rows(entries, docs, view_count)

    monkeypatch.setattr(build_part_module, "ROWS", recording)
    assert build_part(runtime, records, now, 0, len(records)) == whole
    assert sizes == [MAP_BATCH, MAP_BATCH, 7]
    assert [row[3] for row in whole[0][0]] == list(range(2 * MAP_BATCH + 7))
