"""Forked parallel full builds: the same index as the in-process build, and a safe fallback."""
import gzip
import json
import logging
import os
import signal

import pytest

from cbserver.engine import Bucket, BucketSettings
from cbserver.views.build_part import build_part
from cbserver.views.ddocs import parse_design_document
from cbserver.views.indexer import DesignIndex
from cbserver.views.js import JsRuntime
from cbserver.views.parallel_build import WorkerFailed, can_fork, parallel_build

from .conftest import BEER_DIR
from .engine_helpers import Clock

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs os.fork and two CPUs")

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
    """Build a design index with ``workers`` processes (1: the in-process build)."""
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


def crash(runtime, records, now, start, stop):
    """A worker that dies of a signal before answering."""
    os.kill(os.getpid(), signal.SIGKILL)


def fail(runtime, records, now, start, stop):
    """A worker whose work raises."""
    raise RuntimeError(f"cannot map {records[start][0]!r}")


def garbage(runtime, records, now, start, stop):
    """A worker that answers something other than a part."""
    return ([[]] * 5, [])


@pytest.mark.parametrize("work, cause", [(crash, "status -9"), (fail, "status 1"),
                                         (garbage, "5 views, not 1")])
def test_worker_failure_is_reported(work, cause):
    runtime = JsRuntime(["function (doc, meta) { emit(meta.id, null); }"], {})
    records, now = stored_items({f"k{n}": b"{}" for n in range(10)}), Clock()()
    with pytest.raises(WorkerFailed, match=cause):
        parallel_build(runtime, records, now, 2, work=work)
    assert parallel_build(runtime, records, now, 2) == build_part(runtime, records, now, 0, 10)


def test_worker_timeout_falls_back_to_in_process_build(caplog):
    slow = {"views": {"v": {"map": "function (doc, meta) { var t = Date.now();"
                                   " if (doc.slow) while (Date.now() - t < 300) {}"
                                   " emit(meta.id, doc.slow || 0); }"}}}
    items = stored_items({"a": b'{"slow": 1}', "b": b"{}", "c": b"{}"})
    design = DesignIndex(parse_design_document("d", json.dumps(slow).encode(), 1))
    design.workers, design.parallel_min_docs, design.worker_timeout = 2, 0, 0.05
    with caplog.at_level(logging.WARNING, logger="cbserver.views.indexer"):
        design.build(items, Clock()())
    assert "parallel build of _design/d failed (no answer within" in caplog.text
    assert design.views["v"].snapshot() == {"a": [["a", 1]], "b": [["b", 0]], "c": [["c", 0]]}
