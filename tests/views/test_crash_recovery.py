"""A cbserver killed with SIGKILL after a full build restarts from the saved index snapshot."""
from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from support.rawkv import KV

from .conftest import ViewsHTTP

PORTS = re.compile(r"rest port (\d+), kv port (\d+), views port (\d+)")
DDOC = {"views": {"by_n": {"map": "function (doc, meta) { emit(doc.n, null); }",
                           "reduce": "_count"}}}


class Child:
    """``python -m cbserver`` persisting to a data directory, on free ports."""

    def __init__(self, data_dir, log_path) -> None:
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cbserver", "--data-dir", str(data_dir), "--rest-port", "0",
             "--kv-port", "0", "--views-port", "0", "--bucket", "default"],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        match = PORTS.search(line)
        if match is None:
            self.stop(signal.SIGKILL)
            raise RuntimeError(f"cbserver did not start: {line!r}; see {log_path}")
        self.kv_port, self.views_port = int(match.group(2)), int(match.group(3))
        self.http = ViewsHTTP(self.views_port, "default")
        assert self.http.request("GET", "/_design/warm")[0] == 404  # waits for warmup

    def stop(self, sig: int) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(60)
        self.log.close()


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
    child = Child(data_dir, tmp_path / "cbserver.log")
    try:
        kv = KV(child.kv_port, "default")
        kv.load([(f"k{n:04d}", json.dumps({"n": n % 10}).encode()) for n in range(2000)])
        kv.close()
        assert child.http.put_ddoc("d", DDOC)[0] == 201
        wait_for_snapshot(data_dir / "buckets" / "default" / "kv.sqlite3")
    finally:
        child.stop(signal.SIGKILL)

    child = Child(data_dir, tmp_path / "cbserver.log")
    try:
        rows = child.http.query("d", "by_n", group=True, stale="false")["rows"]
        assert rows == [{"key": n, "value": 200} for n in range(10)]
        body = child.http.query("d", "by_n", reduce=False, limit=0, debug=True)
        assert body["debug_info"]["local"]["builds"] == 0
    finally:
        child.stop(signal.SIGTERM)
