"""Sample buckets over REST: GET /sampleBuckets and POST /sampleBuckets/install (protocol.md 8)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from couchbase import Couchbase

ADMIN = ("Administrator", "password")


def rest(srv, method: str, path: str, body: bytes | None = None,
         auth: tuple[str, str] | None = ADMIN) -> tuple[int, object]:
    """Send one REST request; return (status, decoded JSON body or None)."""
    request = urllib.request.Request(f"http://127.0.0.1:{srv.rest_port}{path}", data=body,
                                     method=method)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


@pytest.fixture
def empty_server(server_factory):
    """A cbserver with no bucket at all."""
    return server_factory(buckets=())


def test_install_beer_sample_over_rest(empty_server):
    status, listing = rest(empty_server, "GET", "/sampleBuckets")
    assert status == 200
    assert listing == [{"name": "beer-sample", "installed": False, "quotaNeeded": 104857600}]

    status, body = rest(empty_server, "POST", "/sampleBuckets/install", b'["beer-sample"]')
    assert (status, body) == (202, [])
    assert rest(empty_server, "GET", "/sampleBuckets")[1][0]["installed"] is True

    db = Couchbase.connect(bucket="beer-sample", host="127.0.0.1", port=empty_server.rest_port)
    assert db.get("21st_amendment_brewery_cafe-21a_ipa").value["name"] == "21A IPA"
    assert db.get("midnight_sun_brewing_co").value["type"] == "brewery"
    status, rows = rest(empty_server, "GET", "/pools/default/buckets/beer-sample")
    assert status == 200 and rows["name"] == "beer-sample"

    status, body = rest(empty_server, "POST", "/sampleBuckets/install", b'["beer-sample"]')
    assert status == 400 and body == ["Sample bucket beer-sample is already loaded."]


def test_the_design_document_and_every_document_are_loaded(empty_server):
    rest(empty_server, "POST", "/sampleBuckets/install", b'["beer-sample"]')
    port = empty_server.views_port
    with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/beer-sample/_design/beer/_view/brewery_beers"
            "?stale=false&limit=1", timeout=60) as response:
        assert json.loads(response.read())["total_rows"] == 7303
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/beer-sample/_design/beer",
                                timeout=60) as response:
        assert set(json.loads(response.read())["views"]) == {"brewery_beers", "by_location"}


@pytest.mark.parametrize("body, message", [
    (b'["no-such-sample"]', "Sample no-such-sample is not a valid sample."),
    (b'not json', "The body must be a JSON array of sample names."),
    (b'{"name": "beer-sample"}', "The body must be a JSON array of sample names."),
    (b'[1]', "The body must be a JSON array of sample names."),
])
def test_bad_install_requests_are_400_with_messages(empty_server, body, message):
    status, errors = rest(empty_server, "POST", "/sampleBuckets/install", body)
    assert status == 400 and errors == [message]
    assert rest(empty_server, "GET", "/sampleBuckets")[1][0]["installed"] is False


def test_sample_routes_need_the_admin(empty_server):
    assert rest(empty_server, "GET", "/sampleBuckets", auth=None)[0] == 401
    assert rest(empty_server, "POST", "/sampleBuckets/install", b'["beer-sample"]',
                auth=("Administrator", "wrong"))[0] == 401
    assert rest(empty_server, "GET", "/sampleBuckets")[1][0]["installed"] is False
