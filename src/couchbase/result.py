"""Result objects returned by every client operation.

They are lightweight (``__slots__``), read-only to applications and hold no
reference to the connection. The I/O layer creates them through the constructors
and may fill them in later by assigning the underscore slots (``_rc``, ``_cas``,
``_value``, ``_flags``, ``_http_status``, ``_headers``, ``_fetcher``,
``MultiResult._all_ok``); nothing else writes to them.
"""
from __future__ import annotations

from typing import Any, Callable

from . import _libcouchbase as C

_UNSET: Any = object()


def _result_repr(result: Result) -> str:
    """Format a result as 1.0 did: ``ClassName<RC=0x0, Key=k, ...>``."""
    fields = result._fldprops
    rc = result.rc
    parts = [f"RC=0x{rc:X}" if rc == 0 else f"RC=0x{rc:X}[{result.errstr}]"]
    if fields & C.PYCBC_RESFLD_KEY and hasattr(result, "_key"):
        parts.append(f"Key={result._key}")
    if fields & C.PYCBC_RESFLD_VALUE and hasattr(result, "_value"):
        parts.append(f"Value={result._value!r}")
    if fields & C.PYCBC_RESFLD_CAS:
        parts.append(f"CAS=0x{result.cas:x}")
    if fields & C.PYCBC_RESFLD_FLAGS:
        parts.append(f"Flags=0x{result.flags:x}")
    if fields & C.PYCBC_RESFLD_HTCODE:
        parts.append(f"HTTP={result.http_status}")
    if fields & C.PYCBC_RESFLD_URL and hasattr(result, "_key"):
        parts.append(f"URL={result._key}")
    return f"{type(result).__name__}<{', '.join(parts)}>"


class Result:
    """Outcome of one operation on one key: its return code and key."""

    __slots__ = ("_rc", "_key")
    _fldprops = C.PYCBC_RESFLD_RC

    def __init__(self, key: Any = _UNSET, rc: int = 0) -> None:
        self._rc = rc
        if key is not _UNSET:
            self._key = key

    @property
    def rc(self) -> int:
        """libcouchbase return code: 0 on success."""
        return self._rc

    @property
    def key(self) -> Any:
        """The key as echoed by the server (AttributeError until it is known)."""
        try:
            return self._key
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no key set") from None

    @property
    def success(self) -> bool:
        """True when the operation succeeded (rc == 0)."""
        return self._rc == 0

    @property
    def errstr(self) -> str:
        """Text describing ``rc``."""
        return C._strerror(self._rc)

    @property
    def value(self) -> Any:
        """Plain results carry no value."""
        return None

    @property
    def cas(self) -> int:
        """Plain results carry no CAS."""
        return 0

    def __repr__(self) -> str:
        return C._helpers["result_reprfunc"](self)


class OperationResult(Result):
    """Outcome of a mutation: adds the item's new CAS."""

    __slots__ = ("_cas",)
    _fldprops = C.PYCBC_RESFLD_RC | C.PYCBC_RESFLD_KEY | C.PYCBC_RESFLD_CAS

    def __init__(self, key: Any = _UNSET, rc: int = 0, cas: int = 0) -> None:
        super().__init__(key, rc)
        self._cas = cas

    @property
    def cas(self) -> int:
        """The item's CAS (unsigned 64-bit) after the operation."""
        return self._cas


class ValueResult(OperationResult):
    """Outcome of a read: adds the decoded value and the stored flags."""

    __slots__ = ("_value", "_flags")
    _fldprops = (C.PYCBC_RESFLD_RC | C.PYCBC_RESFLD_KEY | C.PYCBC_RESFLD_VALUE
                 | C.PYCBC_RESFLD_CAS | C.PYCBC_RESFLD_FLAGS)

    def __init__(self, key: Any = _UNSET, rc: int = 0, cas: int = 0, value: Any = None,
                 flags: int = 0) -> None:
        super().__init__(key, rc, cas)
        self._value = value
        self._flags = flags

    @property
    def value(self) -> Any:
        """The decoded value (None when missing or failed)."""
        return self._value

    @property
    def flags(self) -> int:
        """The item flags as stored on the server."""
        return self._flags


class HttpResult(Result):
    """Outcome of a view or management HTTP request; ``url`` is the request path."""

    __slots__ = ("_http_status", "_value", "_headers", "_fetcher")
    _fldprops = (C.PYCBC_RESFLD_RC | C.PYCBC_RESFLD_VALUE | C.PYCBC_RESFLD_HTCODE
                 | C.PYCBC_RESFLD_URL)

    def __init__(self, key: Any = _UNSET, rc: int = 0, http_status: int = 0,
                 headers: dict[str, str] | None = None,
                 fetcher: Callable[[], list[str] | None] | None = None) -> None:
        super().__init__(key, rc)
        self._http_status = http_status
        self._headers = headers
        self._fetcher = fetcher

    @property
    def http_status(self) -> int:
        """HTTP status code (0 when no response was received)."""
        return self._http_status

    @property
    def value(self) -> Any:
        """Decoded body (AttributeError until the response is complete)."""
        try:
            return self._value
        except AttributeError:
            raise AttributeError(f"HttpResult for {self.url!r} has no value yet") from None

    @property
    def url(self) -> Any:
        """The request path (same as ``key``)."""
        return self.key

    @property
    def headers(self) -> dict[str, str] | None:
        """Response headers, or None unless they were requested."""
        return self._headers

    @property
    def success(self) -> bool:
        """True when rc is 0 and the HTTP status is 2xx (or there was none)."""
        status = self._http_status
        return self._rc == 0 and (200 <= status < 300 or status == 0)

    def _fetch(self) -> list[str] | None:
        """Next complete rows of a chunked response (maybe []), None once it ended."""
        fetcher = self._fetcher
        if fetcher is None:
            return None
        rows = fetcher()
        if rows is None:
            self._fetcher = None
        return rows


class MultiResult(dict):
    """Results of a batched operation keyed by key; ``all_ok`` says if every one succeeded."""

    __slots__ = ("_all_ok",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._all_ok = 1

    @property
    def all_ok(self) -> int:
        """1 if every operation succeeded, else 0."""
        return self._all_ok


class Arguments(dict):
    """Per-item options (``value``, ``cas``, ``ttl``) inside a ``set_multi`` dict."""

    __slots__ = ()


_OBS_NAMES = {
    C.OBS_PERSISTED: "OBS_PERSISTED",
    C.OBS_FOUND: "OBS_FOUND",
    C.OBS_NOTFOUND: "OBS_NOTFOUND",
    C.OBS_LOGICALLY_DELETED: "OBS_LOGICALLY_DELETED",
}


def _obsinfo_repr(info: ObserveInfo) -> str:
    """Format an ObserveInfo as 1.0 did."""
    name = _OBS_NAMES.get(info.flags, "")
    return (f"ObserveInfo<Status=[{name} (0x{info.flags:X})], "
            f"Master={bool(info.from_master)}, CAS=0x{info.cas:X}>")


class ObserveInfo:
    """State of a key on one node: status flags, whether the node is master, CAS."""

    __slots__ = ("_flags", "_from_master", "_cas")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("ObserveInfo cannot be subclassed")

    def __init__(self, flags: int = 0, from_master: int = 0, cas: int = 0) -> None:
        self._flags = flags
        self._from_master = from_master
        self._cas = cas

    @property
    def flags(self) -> int:
        """The OBS_* status of the key on this node."""
        return self._flags

    @property
    def from_master(self) -> int:
        """1 when this node is the key's master, 0 for a replica."""
        return self._from_master

    @property
    def cas(self) -> int:
        """CAS of the key on this node."""
        return self._cas

    def __repr__(self) -> str:
        return C._helpers["obsinfo_reprfunc"](self)


C._init_helpers(result_reprfunc=_result_repr, obsinfo_reprfunc=_obsinfo_repr)
