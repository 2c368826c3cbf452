"""``couchbase.admin.Admin``: a cluster-management connection that sends HTTP
requests to the REST port (spec 12); key-value methods fail with BadHandleError."""
from __future__ import annotations

from typing import Any

from . import _libcouchbase as C
from .connection import Connection
from .exceptions import ArgumentError, HTTPError, exc_from_rc
from .result import HttpResult

_METHODS = {"GET": C.LCB_HTTP_METHOD_GET, "PUT": C.LCB_HTTP_METHOD_PUT,
            "POST": C.LCB_HTTP_METHOD_POST, "DELETE": C.LCB_HTTP_METHOD_DELETE}


class Admin(Connection):
    """Administrative connection to the cluster's management (8091-style) port."""

    def __init__(self, username: str, password: str, host: str = "localhost", port: int = 8091,
                 **kwargs: Any) -> None:
        super().__init__(bucket="default", host=host, port=port, username=username,
                         password=password, _conntype=C.LCB_TYPE_CLUSTER)
        self.http_request("/pools/")

    def http_request(self, path: str, method: str = "GET", content: Any = None,
                     content_type: str = "application/json",
                     response_format: int = C.FMT_JSON) -> HttpResult:
        """Send ``method path`` to the management port; non-2xx raises HTTPError."""
        if path is None:
            raise ArgumentError.pyexc("path must be given")
        if method not in _METHODS:
            raise ArgumentError.pyexc("method must be GET, PUT, POST or DELETE", obj=method)
        try:
            return self._http_request(type=C.LCB_HTTP_TYPE_MANAGEMENT, method=_METHODS[method],
                                      path=path, content_type=content_type, post_data=content,
                                      response_format=response_format, fetch_headers=True)
        except HTTPError as exc:
            if exc.objextra is not None and exc.objextra.http_status == 401:
                raise exc_from_rc(C.LCB_AUTH_ERROR, key=path,
                                  message="Admin credentials rejected") from None
            raise
