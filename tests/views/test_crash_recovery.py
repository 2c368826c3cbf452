"""A cbserver killed with SIGKILL after a full build restarts from the saved index snapshot."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest

from support.cbserver_process import CbserverProcess

from .conftest import ViewsHTTP

DDOC = {"views": {"by_n": {"map": "function (doc, meta) { emit(doc.n, null); }",
                           "reduce": "_count"}}}


def wait_for_snapshot(database_path, timeout: float = 60.0) -> None:
    """Poll the bucket's database (read-only) until the index snapshot row is committed."""
    deadline = time.monotonic() + timeout
    while True:
        database = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True)
        try:
            row = database.execute("SELECT 1 FROM meta WHERE namespace = 'views' "
                                   "AND key = 'index/d'").fetchone()
        finally:
            database.close()
        if row is not None:
            return
        assert time.monotonic() < deadline, "the index snapshot was never written"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_after_a_build_restarts_without_rebuilding(tmp_path):
    data_dir = tmp_path / "data"
    child = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    try:
        kv = child.wait_warm()
        kv.load([(f"k{n:04d}", json.dumps({"n": n % 10}).encode()) for n in range(2000)])
        kv.close()
        assert ViewsHTTP(child.views_port, "default").put_ddoc("d", DDOC)[0] == 201
        wait_for_snapshot(data_dir / "buckets" / "default" / "kv.sqlite3")
    finally:
        child.kill()

    child = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    try:
        child.wait_warm().close()
        http = ViewsHTTP(child.views_port, "default")
        rows = http.query("d", "by_n", group=True, stale="false")["rows"]
        assert rows == [{"key": n, "value": 200} for n in range(10)]
        body = http.query("d", "by_n", reduce=False, limit=0, debug=True)
        assert body["debug_info"]["local"]["builds"] == 0
    finally:
        child.terminate()
