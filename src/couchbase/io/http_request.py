"""Where a view or management HTTP request goes, and how its body is decoded (spec 13).

VIEW requests go to the ``couchApiBase`` of a node from the current bucket config,
with Basic auth (bucket name, SASL password) only when the bucket has a password;
MANAGEMENT requests go to the bootstrap host's REST port with the connection's
username and password.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from .. import _libcouchbase as C
from ..protocol.config import BucketConfig, ConfigError, capi_host_port
from . import http
from .rc import ClientIOError, Rc
from .urlpath import encode_path

METHOD_NAMES = {C.LCB_HTTP_METHOD_GET: "GET", C.LCB_HTTP_METHOD_POST: "POST",
                C.LCB_HTTP_METHOD_PUT: "PUT", C.LCB_HTTP_METHOD_DELETE: "DELETE"}


@dataclass(frozen=True)
class Endpoint:
    """Host, port, path prefix and credentials of one HTTP service."""

    host: str
    port: int
    prefix: str
    auth: tuple[str, str] | None

    def url_path(self, path: str) -> str:
        """The request target: prefix, one slash, then the lcb-encoded ``path``."""
        return f"{self.prefix}/{encode_path(path.lstrip('/'))}"


def view_endpoint(config: BucketConfig | None, bucket: str, password: str | None) -> Endpoint:
    """A random view node of ``config``; raises ClientIOError when none serves views."""
    if config is None or not config.capi_bases:
        raise ClientIOError(Rc.NOT_SUPPORTED,
                            f"no node of bucket {bucket!r} advertises a view (couchApiBase) URL")
    base = random.choice(config.capi_bases)
    try:
        host, port, prefix = capi_host_port(base)
    except ConfigError as exc:
        raise ClientIOError(Rc.PROTOCOL_ERROR, str(exc)) from None
    secret = config.sasl_password or password
    auth = (config.name or bucket, secret) if secret else None
    return Endpoint(host, port, prefix, auth)


def management_endpoint(hosts: list[tuple[str, int]], username: str | None,
                        password: str | None) -> Endpoint:
    """The bootstrap host's REST port with the connection's credentials."""
    host, port = hosts[0]
    auth = (username, password) if username and password else None
    return Endpoint(host, port, "", auth)


def send(endpoint: Endpoint, method: int, path: str, *, timeout: float,
         content_type: str | None = None, body: bytes = b"") -> http.HttpResponse:
    """Send one request; return the response once its head arrived (ClientIOError else)."""
    name = METHOD_NAMES.get(method)
    if name is None:
        raise ClientIOError(Rc.EINVAL, f"unknown HTTP method code {method!r} for {path!r}")
    headers = {"Content-Type": content_type} if content_type and name in ("PUT", "POST") else {}
    return http.request(endpoint.host, endpoint.port, name, endpoint.url_path(path),
                        timeout=timeout, headers=headers, body=body, auth=endpoint.auth)


def decode_body(raw: bytes, response_format: int) -> Any:
    """Body per ``response_format``, falling back to raw bytes (None when empty)."""
    if not raw:
        return None
    try:
        if response_format == C.FMT_JSON:
            return json.loads(raw.decode("utf-8"))
        if response_format == C.FMT_UTF8:
            return raw.decode("utf-8")
    except ValueError:
        return raw
    return raw
