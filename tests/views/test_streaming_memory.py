"""A view response is streamed: the server never holds the whole result in memory."""
from __future__ import annotations

import http.client
import json
import tracemalloc

from .conftest import ViewsHTTP

DOCS = 40_000
PAD = "x" * 120
DDOC = {"views": {"all": {"map": "function (doc, meta) { emit(doc.name, doc.pad); }"}}}


def _load(server) -> None:
    """Store DOCS documents straight into the engine on the server's loop thread."""
    bucket = server.server.buckets["default"]

    def store_all() -> None:
        for n in range(DOCS):
            body = json.dumps({"name": f"user{n:06d}", "pad": PAD}).encode()
            assert bucket.store("set", f"u{n:06d}".encode(), body, 0, 0)[0] == 0

    server.call(store_all)


def _read_streamed(port: int) -> int:
    """Read the whole view in 64 KiB pieces, keeping nothing; return the response size."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/default/_design/big/_view/all?stale=ok")
    response = conn.getresponse()
    assert response.status == 200
    size = 0
    while piece := response.read(65536):
        size += len(piece)
    conn.close()
    return size


def test_whole_view_streams_with_a_memory_peak_far_below_the_response_size(server_factory):
    srv = server_factory(buckets=("default",))
    _load(srv)
    http = ViewsHTTP(srv.views_port, "default")
    assert http.put_ddoc("big", DDOC)[0] == 201
    assert http.query("big", "all", limit=1)["total_rows"] == DOCS
    tracemalloc.start()
    try:
        size = _read_streamed(srv.views_port)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > DOCS * len(PAD)
    assert peak < size / 5, f"peak {peak} bytes while streaming {size} bytes"
