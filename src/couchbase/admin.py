"""``couchbase.admin.Admin``: a cluster-management connection that sends HTTP
requests to the REST port (spec 12); key-value methods fail with BadHandleError."""
from __future__ import annotations

import json
from typing import Any

from . import _libcouchbase as C
from .connection import Connection
from .exceptions import ArgumentError, exc_from_kind, exc_from_rc
from .io import http
from .io.rc import ClientIOError
from .result import HttpResult

_METHODS = frozenset(("GET", "PUT", "POST", "DELETE"))


class Admin(Connection):
    """Administrative connection to the cluster's management (8091-style) port."""

    def __init__(self, username: str, password: str, host: str = "localhost", port: int = 8091,
                 **kwargs: Any) -> None:
        super().__init__(bucket="default", host=host, port=port, username=username,
                         password=password, _conntype=C.LCB_TYPE_CLUSTER)
        self._admin_auth = (username, password) if username and password else None
        self.http_request("/pools/")

    def http_request(self, path: str, method: str = "GET", content: Any = None,
                     content_type: str = "application/json",
                     response_format: int = C.FMT_JSON) -> HttpResult:
        """Send ``method path`` to the management port; non-2xx raises HTTPError."""
        if path is None:
            raise ArgumentError.pyexc("path must be given")
        if method not in _METHODS:
            raise ArgumentError.pyexc("method must be GET, PUT, POST or DELETE", obj=method)
        body = content.encode("utf-8") if isinstance(content, str) else (content or b"")
        headers = {"Content-Type": content_type} if method in ("PUT", "POST") else {}
        host, port = self._hosts[0]
        try:
            resp = http.request(host, port, method, path, timeout=self.timeout, headers=headers,
                                body=body, auth=self._admin_auth)
            try:
                raw = resp.read_all()
            finally:
                resp.close()
        except ClientIOError as exc:
            raise exc_from_rc(exc.rc, key=path, message=exc.message) from None
        if resp.status == 401:
            raise exc_from_rc(C.LCB_AUTH_ERROR, key=path, message="Admin credentials rejected")
        result = HttpResult(path, 0, resp.status, dict(resp.headers))
        result._value = _decode(raw, response_format)
        if not result.success:
            raise exc_from_kind(C.PYCBC_EXC_HTTP, "HTTP request failed; inspect objextra for the "
                                "HttpResult", key=path, obj=result)
        return result


def _decode(raw: bytes, response_format: int) -> Any:
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
