"""The 1.0 exception hierarchy, the rc -> class maps and the factories that build
exceptions for the rest of the client.

Every error the client raises is a ``CouchbaseError``; the attributes (``rc``,
``key``, ``result``, ``all_results``, ``inner_cause``, ``objextra``, ``csrc_info``,
``message``) tell what failed, on which key and why. ``TimeoutError`` shadows the
builtin inside this module, as it did in 1.0.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from . import _libcouchbase as C


class CouchbaseError(Exception):
    """Base class of every error the Couchbase client raises."""

    @classmethod
    def rc_to_exctype(cls, rc: int) -> type[CouchbaseError]:
        """Return the exception class mapped to ``rc``, or ``cls`` when unmapped."""
        return _LCB_ERRNO_MAP.get(rc, cls)

    @classmethod
    def pyexc(cls, message: str | None = None, obj: Any = None,
              inner: BaseException | None = None) -> CouchbaseError:
        """Build (not raise) an instance carrying a message, the culprit and the cause."""
        return cls({"message": message, "objextra": obj, "inner_cause": inner})

    def __init__(self, params: dict[str, Any] | str | None = None) -> None:
        if params is None:
            params = {}
        elif isinstance(params, str):
            params = {"message": params}
        super().__init__(params)
        self.rc: int = params.get("rc", 0)
        self.all_results: Any = params.get("all_results", {})
        self.result: Any = params.get("result", None)
        self.inner_cause: BaseException | None = params.get("inner_cause", None)
        self.csrc_info: tuple = params.get("csrc_info", ())
        self.key: Any = params.get("key", None)
        self.objextra: Any = params.get("objextra", None)
        self.message: str | None = params.get("message", None)

    def __str__(self) -> str:
        parts = []
        if self.key:
            parts.append(f"Key={self.key!r}")
        if self.rc:
            parts.append(f"RC=0x{self.rc:X}[{C._strerror(self.rc)}]")
        # 1.0 always appended the message, so a None message made str() raise
        # TypeError (sdk-1.0-api.md 14.7). The documented intent is a readable
        # description, so a missing message is simply left out.
        if self.message is not None:
            parts.append(str(self.message))
        if self.all_results:
            parts.append(f"Results={len(self.all_results)}")
        if self.inner_cause is not None:
            parts.append(f"inner_cause={self.inner_cause}")
        if self.csrc_info:
            parts.append("C Source=({0},{1})".format(*self.csrc_info))
        if self.objextra is not None:
            parts.append(f"OBJ={self.objextra!r}")
        return "<" + ", ".join(parts) + ">"


class InternalSDKError(CouchbaseError):
    """The client itself reached a state it should never be in."""


class CouchbaseNetworkError(CouchbaseError):
    """Base class of failures to reach or talk to the cluster."""


class ArgumentError(CouchbaseError):
    """An argument passed to the client was invalid."""


class ValueFormatError(CouchbaseError):
    """A key or value could not be encoded or decoded in the requested format."""


class AuthError(CouchbaseError):
    """The cluster rejected the credentials."""


class DeltaBadvalError(CouchbaseError):
    """incr/decr was applied to a value that is not a number."""


class TooBigError(CouchbaseError):
    """The value is larger than the server accepts."""


class BusyError(CouchbaseError):
    """The server is too busy; the operation may be retried later."""


class InternalError(CouchbaseError):
    """The server reported an internal error."""


class InvalidError(CouchbaseError):
    """An invalid argument reached libcouchbase (e.g. a malformed host string)."""


class NoMemoryError(CouchbaseError):
    """The server is out of memory."""


class RangeError(CouchbaseError):
    """A value was outside the range the server accepts."""


class LibcouchbaseError(CouchbaseError):
    """A generic libcouchbase failure without a more specific class."""


class TemporaryFailError(CouchbaseError):
    """A temporary condition (such as a locked item) made the operation fail."""


class KeyExistsError(CouchbaseError):
    """The key already exists, or its CAS differs from the one given."""


class NotFoundError(CouchbaseError):
    """The key does not exist."""


class DlopenFailedError(CouchbaseError):
    """A shared library could not be loaded."""


class DlsymFailedError(CouchbaseError):
    """A symbol could not be found in a shared library."""


class NetworkError(CouchbaseNetworkError):
    """A network failure happened while talking to a node."""


class NotMyVbucketError(CouchbaseError):
    """The node does not own the key's vBucket."""


class NotStoredError(CouchbaseError):
    """The item was not stored (append/prepend on a missing key)."""


class NotSupportedError(CouchbaseError):
    """The server does not support the operation."""


class UnknownCommandError(CouchbaseError):
    """The server does not know the command."""


class UnknownHostError(CouchbaseNetworkError):
    """A host name could not be resolved."""


class ProtocolError(CouchbaseError):
    """The server sent something the protocol does not allow."""


class TimeoutError(CouchbaseError):
    """The operation did not complete within the timeout."""


class ConnectError(CouchbaseNetworkError):
    """No connection could be made to any node."""


class BucketNotFoundError(CouchbaseError):
    """The bucket does not exist on the cluster."""


class ClientNoMemoryError(CouchbaseError):
    """The client ran out of memory."""


class ClientTemporaryFailError(CouchbaseError):
    """A temporary condition inside the client made the operation fail."""


class BadHandleError(CouchbaseError):
    """The operation is not allowed on this kind of connection."""


class HTTPError(CouchbaseError):
    """An HTTP (view or management) request failed; ``objextra`` is the HttpResult."""


class ObjectThreadError(CouchbaseError):
    """The connection was used from two threads at once, or locking is disabled."""


class ViewEngineError(CouchbaseError):
    """The view engine reported errors while running a query."""


_LCB_ERRNO_MAP: dict[int, type[CouchbaseError]] = {
    C.LCB_AUTH_ERROR: AuthError,
    C.LCB_DELTA_BADVAL: DeltaBadvalError,
    C.LCB_E2BIG: TooBigError,
    C.LCB_EBUSY: BusyError,
    C.LCB_ENOMEM: NoMemoryError,
    C.LCB_ETMPFAIL: TemporaryFailError,
    C.LCB_KEY_EEXISTS: KeyExistsError,
    C.LCB_KEY_ENOENT: NotFoundError,
    C.LCB_DLOPEN_FAILED: DlopenFailedError,
    C.LCB_DLSYM_FAILED: DlsymFailedError,
    C.LCB_NETWORK_ERROR: NetworkError,
    C.LCB_NOT_MY_VBUCKET: NotMyVbucketError,
    C.LCB_NOT_STORED: NotStoredError,
    C.LCB_NOT_SUPPORTED: NotSupportedError,
    C.LCB_UNKNOWN_HOST: UnknownHostError,
    C.LCB_PROTOCOL_ERROR: ProtocolError,
    C.LCB_ETIMEDOUT: TimeoutError,
    C.LCB_CONNECT_ERROR: ConnectError,
    C.LCB_BUCKET_ENOENT: BucketNotFoundError,
    C.LCB_EBADHANDLE: BadHandleError,
    C.LCB_INVALID_HOST_FORMAT: InvalidError,
    C.LCB_INVALID_CHAR: InvalidError,
}

_EXCTYPE_MAP: dict[int, type[CouchbaseError]] = {
    C.PYCBC_EXC_ARGUMENTS: ArgumentError,
    C.PYCBC_EXC_ENCODING: ValueFormatError,
    C.PYCBC_EXC_INTERNAL: InternalSDKError,
    C.PYCBC_EXC_HTTP: HTTPError,
    C.PYCBC_EXC_THREADING: ObjectThreadError,
}


def _caller_location(depth: int) -> tuple[str, int]:
    """(path inside the package, line) of the library code that built an exception."""
    frame = sys._getframe(depth + 1)
    path = frame.f_code.co_filename
    marker = os.sep + "couchbase" + os.sep
    if marker in path:
        path = "couchbase" + os.sep + path.rsplit(marker, 1)[1]
    return path, frame.f_lineno


def exc_from_rc(rc: int, key: Any = None, message: str = "Operational Error",
                result: Any = None, all_results: Any = None,
                inner: BaseException | None = None, obj: Any = None) -> CouchbaseError:
    """Build the exception 1.0 raised for a failed operation with return code ``rc``."""
    cls = _LCB_ERRNO_MAP.get(rc, CouchbaseError)
    return cls({
        "rc": rc, "key": key, "message": message, "result": result,
        "all_results": {} if all_results is None else all_results,
        "inner_cause": inner, "objextra": obj, "csrc_info": _caller_location(1),
    })


def exc_from_kind(kind: int, message: str, key: Any = None, obj: Any = None,
                  inner: BaseException | None = None, rc: int = 0) -> CouchbaseError:
    """Build the exception for a PYCBC_EXC_* error kind (LCBERR uses ``rc``)."""
    if kind == C.PYCBC_EXC_LCBERR:
        cls = _LCB_ERRNO_MAP.get(rc, CouchbaseError)
    else:
        cls = _EXCTYPE_MAP.get(kind, CouchbaseError)
    return cls({
        "rc": rc, "key": key, "message": message, "objextra": obj, "inner_cause": inner,
        "csrc_info": _caller_location(1),
    })


C._init_helpers(lcb_errno_map=_LCB_ERRNO_MAP, misc_errno_map=_EXCTYPE_MAP,
                default_exception=CouchbaseError)
