"""Small blocking HTTP helpers for the REST tests (urllib, real sockets)."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

ADMIN = ("Administrator", "password")


def http(port: int, path: str, method: str = "GET", auth: tuple[str, str] | None = ADMIN,
         form: dict | None = None, headers: dict | None = None):
    """(status, headers, body bytes) of one request to 127.0.0.1:port."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def get_json(port: int, path: str, auth: tuple[str, str] | None = ADMIN):
    status, _, body = http(port, path, auth=auth)
    assert status == 200, (path, status, body)
    return json.loads(body)
