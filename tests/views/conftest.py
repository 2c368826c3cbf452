"""Fixtures for view tests over HTTP: a cbserver with beer-sample loaded through the KV port."""
from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from cbserver.embedded import EmbeddedServer
from cbserver.samples.catalog import SAMPLES_DIR
from support.rawkv import KV

#: The beer-sample data set as shipped inside cbserver (docs.jsonl.gz, design/beer.json).
BEER_DIR = SAMPLES_DIR / "beer-sample"
ADMIN = ("Administrator", "password")


class ViewsHTTP:
    """Small HTTP helper for the views port."""

    def __init__(self, port: int, bucket: str) -> None:
        self.base = f"http://127.0.0.1:{port}/{bucket}"

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, dict, bytes]:
        """Send a request; return (status, headers, body) for every status."""
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def put_ddoc(self, name: str, ddoc: dict) -> tuple[int, dict]:
        status, _, body = self.request("PUT", f"/_design/{name}", json.dumps(ddoc).encode())
        return status, json.loads(body)

    def query(self, ddoc: str, view: str, expect: int = 200, **params) -> dict:
        """GET a view with JSON-encoded key params; assert the status; return the body."""
        status, body = self.query_raw(ddoc, view, **params)
        assert status == expect, body
        return body

    def query_raw(self, ddoc: str, view: str, **params) -> tuple[int, dict]:
        qs = urllib.parse.urlencode({
            k: (json.dumps(v) if k in ("key", "keys", "startkey", "endkey", "start_key", "end_key")
                else str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()})
        status, _, body = self.request("GET", f"/_design/{ddoc}/_view/{view}?{qs}")
        return status, json.loads(body)


def load_beer_docs() -> list[dict]:
    """Return the beer-sample documents as {"id", "doc"} records."""
    with gzip.open(BEER_DIR / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def beer_docs() -> list[dict]:
    return load_beer_docs()


@pytest.fixture(scope="session")
def beer_server(beer_docs):
    """A cbserver with bucket beer-sample holding the data set and the `beer` design doc."""
    with EmbeddedServer(buckets=("beer-sample", "scratch"), admin=ADMIN) as srv:
        kv = KV(srv.kv_port, "beer-sample")
        kv.load([(d["id"], json.dumps(d["doc"]).encode()) for d in beer_docs])
        kv.close()
        http = ViewsHTTP(srv.views_port, "beer-sample")
        status, body = http.put_ddoc("beer", json.loads((BEER_DIR / "design" / "beer.json").read_text()))
        assert status == 201, body
        yield srv


@pytest.fixture(scope="session")
def beer(beer_server) -> ViewsHTTP:
    return ViewsHTTP(beer_server.views_port, "beer-sample")


@pytest.fixture
def scratch(beer_server):
    """(kv, http) for the `scratch` bucket; its design docs and keys are per test."""
    kv = KV(beer_server.kv_port, "scratch")
    yield kv, ViewsHTTP(beer_server.views_port, "scratch")
    kv.close()
