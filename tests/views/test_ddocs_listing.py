"""The REST port lists a bucket's design documents in the shape SDKs read."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from .conftest import ADMIN


def _get(port: int, path: str, auth: tuple[str, str] | None = ADMIN) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_ddocs_lists_every_design_document_with_its_views(beer_server, scratch):
    _, http = scratch
    assert http.put_ddoc("listing", {"views": {"v": {"map": "function(d){emit(1)}"}}})[0] == 201
    status, body = _get(beer_server.rest_port, "/pools/default/buckets/scratch/ddocs")
    assert status == 200
    docs = {row["doc"]["meta"]["id"]: row["doc"] for row in body["rows"]}
    assert docs["_design/listing"]["json"]["views"] == {"v": {"map": "function(d){emit(1)}"}}
    assert docs["_design/listing"]["meta"]["rev"]
    status, body = _get(beer_server.rest_port, "/pools/default/buckets/beer-sample/ddocs")
    assert [row["doc"]["meta"]["id"] for row in body["rows"]] == ["_design/beer"]


def test_ddocs_of_an_unknown_bucket_or_with_bad_credentials_is_refused(beer_server):
    assert _get(beer_server.rest_port, "/pools/default/buckets/nosuch/ddocs")[0] == 404
    bad = ("Administrator", "wrong")
    assert _get(beer_server.rest_port, "/pools/default/buckets/scratch/ddocs", bad)[0] == 401
