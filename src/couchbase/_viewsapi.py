"""Views and design documents on a Connection: ``query``, ``_view``, ``design_*`` and the
HTTP request primitive ``_http_request`` they share (sdk-1.0-api.md 3, 10-13).

The mixin relies on the Connection attributes ``_router``, ``_hosts``, ``_bucket``,
``_username``, ``_password``, ``timeout`` and the lock helpers ``_acquire`` and
``_oplock``.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from . import _libcouchbase as C
from .exceptions import ArgumentError, CouchbaseError, exc_from_kind, exc_from_rc
from .io.http_request import (METHOD_NAMES, Endpoint, decode_body, management_endpoint, send,
                              view_endpoint)
from .io.rc import ClientIOError, Rc
from .io.urlpath import InvalidPathChar
from .io.viewstream import StreamedRows
from .result import HttpResult
from .views.iterator import View
from .views.params import make_dvpath, make_options_string

log = logging.getLogger(__name__)

#: Default time a view request may take (lcb's view timeout), in seconds.
DEFAULT_VIEWS_TIMEOUT = 75.0
#: Pause between two checks of a design document action with ``syncwait``.
SYNCWAIT_POLL_INTERVAL = 0.05
_DEV_PREFIX = "dev_"


def _mk_devmode(name: str, use_devmode: bool) -> str:
    """``name`` with the ``dev_`` prefix when development mode is asked for."""
    if use_devmode and not name.startswith(_DEV_PREFIX):
        return _DEV_PREFIX + name
    return name


def _server_reason(value: Any) -> str:
    """The ``error: reason`` text of a CouchDB-style JSON error body, if any."""
    if isinstance(value, dict) and ("error" in value or "reason" in value):
        return f": {value.get('error', '')}: {value.get('reason', '')}"
    if isinstance(value, (bytes, str)) and value:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return f": {text[:200]}"
    return ""


def _http_failure(result: HttpResult, method: int) -> CouchbaseError:
    """HTTPError for a completed request whose status is not 2xx."""
    return exc_from_kind(
        C.PYCBC_EXC_HTTP,
        f"HTTP {METHOD_NAMES.get(method, method)} {result.url} answered "
        f"{result.http_status}{_server_reason(getattr(result, '_value', None))}; "
        f"inspect objextra for the HttpResult", key=result.url, obj=result)


class ViewsMixin:
    """View queries, design-document management and raw HTTP requests of a Connection."""

    _views_timeout: float = DEFAULT_VIEWS_TIMEOUT

    @property
    def views_timeout(self) -> float:
        """Seconds a view request may take (75 by default); for streams, per read."""
        return self._views_timeout

    @views_timeout.setter
    def views_timeout(self, value: Any) -> None:
        if isinstance(value, (str, bytes, bool)) or value is None:
            raise TypeError(f"views_timeout must be a number, not {type(value).__name__}")
        seconds = float(value)
        if seconds <= 0:
            raise ValueError(f"views_timeout must be positive, got {value!r}")
        self._views_timeout = seconds

    # -- the HTTP primitive ------------------------------------------------------------

    def _endpoint(self, type: int) -> Endpoint:
        """Where a request of lcb HTTP ``type`` goes."""
        if type == C.LCB_HTTP_TYPE_VIEW:
            router = self._router
            if router is None:
                raise ClientIOError(Rc.EBADHANDLE, "view requests need a bucket connection")
            return view_endpoint(router.config, self._bucket, self._password)
        if type == C.LCB_HTTP_TYPE_MANAGEMENT:
            return management_endpoint(self._hosts, self._username, self._password)
        raise ClientIOError(Rc.EINVAL, f"unknown HTTP request type {type!r}")

    def _http_request(self, type: int, method: int, path: str, content_type: str | None = None,
                      post_data: Any = None, response_format: int = C.FMT_JSON,
                      quiet: Any = None, fetch_headers: bool = False,
                      chunked: bool = False) -> HttpResult:
        """Send one VIEW or MANAGEMENT request (spec 12); chunked ones stream rows."""
        if not isinstance(path, str):
            raise ArgumentError.pyexc("HTTP request path must be a string", obj=path)
        if method not in METHOD_NAMES:
            raise ArgumentError.pyexc(f"Bad HTTP method for {path!r}", obj=method)
        if isinstance(post_data, str):
            body = post_data.encode("utf-8")
        elif isinstance(post_data, (bytes, bytearray)):
            body = bytes(post_data)
        elif post_data is None:
            body = b""
        else:
            raise ArgumentError.pyexc(f"HTTP body for {path!r} must be str or bytes",
                                      obj=post_data)
        timeout = self._views_timeout if type == C.LCB_HTTP_TYPE_VIEW else self.timeout
        quiet = bool(quiet)
        result = HttpResult(path, 0, 0, None)
        locked = self._acquire()
        try:
            response = send(self._endpoint(type), method, path, timeout=timeout,
                            content_type=content_type, body=body)
            result._http_status = response.status
            if fetch_headers:
                result._headers = dict(response.headers)
            if chunked and 200 <= response.status < 300:
                result._fetcher = self._row_fetcher(result, StreamedRows(response, timeout))
                return result
            try:
                raw = response.read_all()
            finally:
                response.close()
        except ClientIOError as exc:
            return self._failed(result, exc.rc, f"HTTP request {path!r} failed: {exc.message}",
                                quiet)
        except InvalidPathChar as exc:
            return self._failed(result, C.LCB_INVALID_CHAR, str(exc), quiet)
        finally:
            if locked:
                self._oplock.release()
        result._value = decode_body(raw, response_format)
        if not result.success:
            error = _http_failure(result, method)
            if chunked:
                result._fetcher = self._raise_once(error, quiet)
            elif not quiet:
                raise error
        return result

    @staticmethod
    def _failed(result: HttpResult, rc: int, message: str, quiet: bool) -> HttpResult:
        """Record a transport failure on ``result``; raise its class unless quiet."""
        result._rc = rc
        if quiet:
            return result
        raise exc_from_rc(rc, key=result.url, message=message, obj=result) from None

    @staticmethod
    def _raise_once(error: CouchbaseError, quiet: bool) -> Callable[[], None]:
        """A fetcher for a failed chunked request: raises (or ends quietly) on first use."""
        def fetch() -> None:
            if not quiet:
                raise error
        return fetch

    def _row_fetcher(self, result: HttpResult,
                     stream: StreamedRows) -> Callable[[], list[str] | None]:
        """The ``_fetch`` callable of a streaming view result."""
        def fetch() -> list[str] | None:
            locked = self._acquire()
            try:
                rows = stream.next_rows()
            except ClientIOError as exc:
                result._rc = exc.rc
                raise exc_from_rc(exc.rc, key=result.url, obj=result,
                                  message=f"streaming {result.url!r} failed: {exc.message}") \
                    from None
            finally:
                if locked:
                    self._oplock.release()
            if rows is None:
                result._value = stream.meta
            return rows
        return fetch

    # -- views ----------------------------------------------------------------------------

    def query(self, design: str, view: str, use_devmode: bool = False, **kwargs: Any) -> View:
        """A lazy View over ``design/view``; keywords go to the View (and its Query)."""
        return View(self, _mk_devmode(design, use_devmode), view, **kwargs)

    def _view(self, ddoc: str, view: str, use_devmode: bool = False, params: Any = None,
              unrecognized_ok: bool = False, passthrough: bool = False) -> HttpResult:
        """One buffered view request; ``params`` is a Query, a dict or an encoded string."""
        if params is None:
            encoded = ""
        elif isinstance(params, str):
            encoded = params
        else:
            encoded = make_options_string(params, unrecognized_ok=unrecognized_ok,
                                          passthrough=passthrough)
        path = make_dvpath(_mk_devmode(ddoc, use_devmode), view) + encoded
        return self._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=C.LCB_HTTP_METHOD_GET,
                                  path=path, response_format=C.FMT_JSON)

    # -- design documents ----------------------------------------------------------------

    def design_create(self, name: str, ddoc: Any, use_devmode: bool = True,
                      syncwait: float = 0) -> HttpResult:
        """Store a design document (a dict, or JSON text when not in dev mode)."""
        _check_syncwait(syncwait)
        name = _mk_devmode(name, use_devmode)
        fqname = f"_design/{name}"
        if isinstance(ddoc, dict):
            body = dict(ddoc)
            body["_id"] = fqname
            body.pop("_rev", None)
            text = json.dumps(body)
        elif isinstance(ddoc, str):
            if use_devmode:
                raise ArgumentError.pyexc(
                    f"design_create {name!r}: a JSON string design document needs "
                    f"use_devmode=False", obj=ddoc)
            text = ddoc
        else:
            raise ArgumentError.pyexc(f"design_create {name!r}: the design must be a dict "
                                      f"or a JSON string", obj=ddoc)
        previous = self._design_rev(name) if syncwait else None
        result = self._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=C.LCB_HTTP_METHOD_PUT,
                                    path=fqname, post_data=text,
                                    content_type="application/json", fetch_headers=True)
        self._design_poll(name, deleting=False, previous_rev=previous, timeout=syncwait)
        return result

    def design_get(self, name: str, use_devmode: bool = True) -> HttpResult:
        """Fetch a design document; its ``X-Couchbase-Meta`` header carries the rev."""
        return self._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=C.LCB_HTTP_METHOD_GET,
                                  path=f"_design/{_mk_devmode(name, use_devmode)}",
                                  fetch_headers=True)

    def design_publish(self, name: str, syncwait: float = 0) -> HttpResult:
        """Copy the development design to production, then delete the development one."""
        _check_syncwait(syncwait)
        production = name[len(_DEV_PREFIX):] if name.startswith(_DEV_PREFIX) else name
        existing = self.design_get(production, use_devmode=True)
        result = self.design_create(production, existing.value, use_devmode=False,
                                    syncwait=syncwait)
        self.design_delete(production, use_devmode=True, syncwait=syncwait)
        return result

    def design_delete(self, name: str, use_devmode: bool = True,
                      syncwait: float = 0) -> HttpResult:
        """Delete a design document."""
        _check_syncwait(syncwait)
        name = _mk_devmode(name, use_devmode)
        result = self._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=C.LCB_HTTP_METHOD_DELETE,
                                    path=f"_design/{name}", fetch_headers=True)
        self._design_poll(name, deleting=True, previous_rev=None, timeout=syncwait)
        return result

    def _design_rev(self, name: str) -> str | None:
        """The rev of design ``name`` as stored now, or None when it does not exist."""
        try:
            result = self.design_get(name, use_devmode=False)
        except CouchbaseError:
            return None
        return _rev_of(result)

    def _design_poll(self, name: str, deleting: bool, previous_rev: str | None,
                     timeout: float) -> None:
        """Wait until a design action is visible and its first view answers (syncwait)."""
        if not timeout:
            return
        deadline = time.monotonic() + timeout
        while True:
            if self._design_done(name, deleting, previous_rev):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(SYNCWAIT_POLL_INTERVAL, left))
        raise exc_from_kind(C.PYCBC_EXC_LCBERR, rc=C.LCB_ETIMEDOUT, key=name,
                            message=f"Wait time for design action on {name!r} exceeded "
                                    f"({timeout} s)")

    def _design_done(self, name: str, deleting: bool, previous_rev: str | None) -> bool:
        """One check of ``_design_poll``."""
        try:
            current = self.design_get(name, use_devmode=False)
        except CouchbaseError:
            return deleting
        if deleting or (previous_rev is not None and _rev_of(current) == previous_rev):
            return False
        views = current.value.get("views") if isinstance(current.value, dict) else None
        if not views:
            return True
        try:
            self._view(name, next(iter(views)), params={"limit": 1, "stale": "ok"})
        except CouchbaseError as exc:
            log.debug("design %r not ready yet: %s", name, exc)
            return False
        return True


def _check_syncwait(syncwait: Any) -> None:
    """``syncwait`` must be a non-negative number of seconds."""
    if isinstance(syncwait, bool) or not isinstance(syncwait, (int, float)) or syncwait < 0:
        raise ArgumentError.pyexc("syncwait must be a non-negative number of seconds",
                                  obj=syncwait)


def _rev_of(result: HttpResult) -> str | None:
    """The rev of a fetched design document (header meta first, then ``_rev``)."""
    headers = result.headers or {}
    meta = headers.get("x-couchbase-meta")
    if meta:
        try:
            rev = json.loads(meta).get("rev")
        except (ValueError, AttributeError):
            rev = None
        if rev is not None:
            return str(rev)
    value = getattr(result, "_value", None)
    if isinstance(value, dict) and "_rev" in value:
        return str(value["_rev"])
    return None
