"""Fixtures for view tests over HTTP: a cbserver with beer-sample loaded through the KV port."""
from __future__ import annotations

import gzip
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from cbserver.embedded import EmbeddedServer
from couchbase.protocol import FrameDecoder, Opcode, encode_request, vbucket_for_key
from couchbase.protocol.extras import pack_store
from couchbase.protocol.sasl import plain_message

BEER_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "beer-sample"
if not BEER_DIR.exists():
    BEER_DIR = Path("/work/shared/data/beer-sample")
ADMIN = ("Administrator", "password")


class KV:
    """A minimal pipelined binary-protocol client for loading test data."""

    def __init__(self, port: int, bucket: str, password: str = "", vbuckets: int = 1024) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.decoder = FrameDecoder()
        self.vbuckets = vbuckets
        self.call([encode_request(Opcode.SASL_AUTH, b"PLAIN", value=plain_message(bucket, password))])

    def call(self, requests: list[bytes]) -> list:
        """Send requests pipelined; return their response frames; fail on an error status."""
        self.sock.sendall(b"".join(requests))
        frames = []
        while len(frames) < len(requests):
            data = self.sock.recv(1 << 16)
            assert data, "server closed the KV connection"
            self.decoder.feed(data)
            frames.extend(self.decoder)
        bad = [f for f in frames if f.status != 0]
        assert not bad, bad[:3]
        return frames

    def set_many(self, docs: list[tuple[str, bytes]], flags: int = 0, exptime: int = 0) -> None:
        """SET many documents, 500 per pipelined batch."""
        for start in range(0, len(docs), 500):
            self.call([encode_request(Opcode.SET, k.encode(), pack_store(flags, exptime), v,
                                      vbucket=vbucket_for_key(k.encode(), self.vbuckets))
                       for k, v in docs[start:start + 500]])

    def delete(self, key: str) -> None:
        """DELETE one document."""
        self.call([encode_request(Opcode.DELETE, key.encode(),
                                  vbucket=vbucket_for_key(key.encode(), self.vbuckets))])

    def close(self) -> None:
        self.sock.close()


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
        kv.set_many([(d["id"], json.dumps(d["doc"]).encode()) for d in beer_docs])
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
