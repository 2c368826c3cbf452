"""Constants, error texts and converter helpers that the 1.0 C module exposed.

In 1.0 ``couchbase._libcouchbase`` was the C extension; here it is the pure-Python
home of the same names: libcouchbase 2.0 return codes (``LCB_*``), formats,
observe states, lock modes, internal ``PYCBC_*`` codes, ``_strerror`` and the
process-global helper registry (``_init_helpers``/``_modify_helpers``/``_get_helper``)
that holds the JSON and pickle converters every connection uses. The result,
transcoder and connection types are reachable here too, resolved lazily so that
importing this module never pulls in the rest of the package.
"""
from __future__ import annotations

import importlib
import json
import pickle
from typing import Any

from .io.rc import Rc
from .io.rc import rc_for_status as _io_rc_for_status

# libcouchbase 2.0 return codes (sdk-1.0-api.md section 9): the numbers live in
# couchbase.io.rc, the I/O layer's single table; these are the 1.0 names for them.
LCB_SUCCESS = Rc.SUCCESS.value
LCB_AUTH_CONTINUE = Rc.AUTH_CONTINUE.value
LCB_AUTH_ERROR = Rc.AUTH_ERROR.value
LCB_DELTA_BADVAL = Rc.DELTA_BADVAL.value
LCB_E2BIG = Rc.E2BIG.value
LCB_EBUSY = Rc.EBUSY.value
LCB_EINTERNAL = Rc.EINTERNAL.value
LCB_EINVAL = Rc.EINVAL.value
LCB_ENOMEM = Rc.ENOMEM.value
LCB_ERANGE = Rc.ERANGE.value
LCB_ERROR = Rc.ERROR.value
LCB_ETMPFAIL = Rc.ETMPFAIL.value
LCB_KEY_EEXISTS = Rc.KEY_EEXISTS.value
LCB_KEY_ENOENT = Rc.KEY_ENOENT.value
LCB_DLOPEN_FAILED = Rc.DLOPEN_FAILED.value
LCB_DLSYM_FAILED = Rc.DLSYM_FAILED.value
LCB_NETWORK_ERROR = Rc.NETWORK_ERROR.value
LCB_NOT_MY_VBUCKET = Rc.NOT_MY_VBUCKET.value
LCB_NOT_STORED = Rc.NOT_STORED.value
LCB_NOT_SUPPORTED = Rc.NOT_SUPPORTED.value
LCB_UNKNOWN_COMMAND = Rc.UNKNOWN_COMMAND.value
LCB_UNKNOWN_HOST = Rc.UNKNOWN_HOST.value
LCB_PROTOCOL_ERROR = Rc.PROTOCOL_ERROR.value
LCB_ETIMEDOUT = Rc.ETIMEDOUT.value
LCB_CONNECT_ERROR = Rc.CONNECT_ERROR.value
LCB_BUCKET_ENOENT = Rc.BUCKET_ENOENT.value
LCB_CLIENT_ENOMEM = Rc.CLIENT_ENOMEM.value
LCB_CLIENT_ETMPFAIL = Rc.CLIENT_ETMPFAIL.value
LCB_EBADHANDLE = Rc.EBADHANDLE.value
LCB_SERVER_BUG = Rc.SERVER_BUG.value
LCB_PLUGIN_VERSION_MISMATCH = Rc.PLUGIN_VERSION_MISMATCH.value
LCB_INVALID_HOST_FORMAT = Rc.INVALID_HOST_FORMAT.value
LCB_INVALID_CHAR = Rc.INVALID_CHAR.value

# Storage operations.
LCB_ADD = 1
LCB_REPLACE = 2
LCB_SET = 3
LCB_APPEND = 4
LCB_PREPEND = 5

# HTTP request methods and types.
LCB_HTTP_METHOD_GET = 0
LCB_HTTP_METHOD_POST = 1
LCB_HTTP_METHOD_PUT = 2
LCB_HTTP_METHOD_DELETE = 3
LCB_HTTP_TYPE_VIEW = 0
LCB_HTTP_TYPE_MANAGEMENT = 1

# Connection types.
LCB_TYPE_BUCKET = 0
LCB_TYPE_CLUSTER = 1

# Value formats (the low bits of the item flags).
FMT_JSON = 0x0
FMT_PICKLE = 0x1
FMT_BYTES = 0x2
FMT_UTF8 = 0x4
FMT_MASK = 0x7

# OBSERVE key states.
OBS_FOUND = 0x00
OBS_PERSISTED = 0x01
OBS_NOTFOUND = 0x80
OBS_LOGICALLY_DELETED = 0x81
OBS_MASK = 0x81

# Per-connection locking behaviour.
LOCKMODE_NONE = 0
LOCKMODE_EXC = 1
LOCKMODE_WAIT = 2

# Internal command kinds of the get/touch/arithmetic family.
PYCBC_CMD_GET = 500
PYCBC_CMD_LOCK = 501
PYCBC_CMD_TOUCH = 502
PYCBC_CMD_GAT = 503
PYCBC_CMD_INCR = 504
PYCBC_CMD_DECR = 505

# Error kinds that are not libcouchbase return codes.
PYCBC_EXC_ARGUMENTS = 0
PYCBC_EXC_ENCODING = 1
PYCBC_EXC_LCBERR = 2
PYCBC_EXC_INTERNAL = 3
PYCBC_EXC_HTTP = 4
PYCBC_EXC_THREADING = 5

# Result fields shown by a result's repr.
PYCBC_RESFLD_RC = 1
PYCBC_RESFLD_CAS = 2
PYCBC_RESFLD_KEY = 4
PYCBC_RESFLD_FLAGS = 8
PYCBC_RESFLD_HTCODE = 16
PYCBC_RESFLD_VALUE = 32
PYCBC_RESFLD_URL = 64

# Connection private flag: duplicate-key warnings bypass the warnings registry.
PYCBC_CONN_F_WARNEXPLICIT = 1

_ERROR_TEXTS = {
    LCB_SUCCESS: "Success",
    LCB_AUTH_CONTINUE: "Authentication needs another step",
    LCB_AUTH_ERROR: "Authentication failed",
    LCB_DELTA_BADVAL: "The stored value is not a number",
    LCB_E2BIG: "Object is too big",
    LCB_EBUSY: "Server is too busy; try again later",
    LCB_EINTERNAL: "Internal error",
    LCB_EINVAL: "Invalid arguments",
    LCB_ENOMEM: "Server is out of memory",
    LCB_ERANGE: "Invalid range",
    LCB_ERROR: "Generic error",
    LCB_ETMPFAIL: "Temporary failure (the item may be locked); try again later",
    LCB_KEY_EEXISTS: "Key exists (with a different CAS value)",
    LCB_KEY_ENOENT: "No such key",
    LCB_DLOPEN_FAILED: "Could not load a shared library",
    LCB_DLSYM_FAILED: "Could not find a symbol in a shared library",
    LCB_NETWORK_ERROR: "Network error",
    LCB_NOT_MY_VBUCKET: "The server does not own this vBucket",
    LCB_NOT_STORED: "Item was not stored",
    LCB_NOT_SUPPORTED: "Operation not supported",
    LCB_UNKNOWN_COMMAND: "Unknown command",
    LCB_UNKNOWN_HOST: "Unknown host",
    LCB_PROTOCOL_ERROR: "Protocol error",
    LCB_ETIMEDOUT: "Operation timed out",
    LCB_CONNECT_ERROR: "Connection failure",
    LCB_BUCKET_ENOENT: "No such bucket",
    LCB_CLIENT_ENOMEM: "Client is out of memory",
    LCB_CLIENT_ETMPFAIL: "Temporary failure inside the client; try again later",
    LCB_EBADHANDLE: "Operation not allowed on this connection type",
    LCB_SERVER_BUG: "The server reported an unexpected condition",
    LCB_PLUGIN_VERSION_MISMATCH: "I/O plugin version mismatch",
    LCB_INVALID_HOST_FORMAT: "Badly formatted host string",
    LCB_INVALID_CHAR: "Invalid character",
}

_UNKNOWN_ERROR_TEXT = "Unknown error: the code is not a libcouchbase return code"


def _strerror(rc: int) -> str:
    """Return the human-readable text of a libcouchbase return code."""
    return _ERROR_TEXTS.get(rc, _UNKNOWN_ERROR_TEXT)


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def rc_for_status(status: int) -> int:
    """Map a memcached response status to the rc libcouchbase 2.0 reported for it."""
    return _io_rc_for_status(status)


def _json_encode(value: Any) -> str:
    """Default FMT_JSON encoder: keeps non-ASCII text raw as the 1.0 client did."""
    return _JSON_ENCODER.encode(value)


_HELPER_NAMES = (
    "result_reprfunc", "fmt_utf8_flags", "fmt_bytes_flags", "pickle_encode",
    "pickle_decode", "json_encode", "json_decode", "lcb_errno_map", "misc_errno_map",
    "default_exception", "obsinfo_reprfunc",
)

#: The process-global helper registry: the only place the converters live.
_helpers: dict[str, Any] = dict.fromkeys(_HELPER_NAMES)
_helpers.update(
    fmt_utf8_flags=FMT_UTF8,
    fmt_bytes_flags=FMT_BYTES,
    json_encode=_json_encode,
    json_decode=json.loads,
    pickle_encode=pickle.dumps,
    pickle_decode=pickle.loads,
)


def _check_helper_names(names: Any) -> None:
    """Reject helper names the registry does not know, before changing anything."""
    unknown = sorted(set(names) - set(_HELPER_NAMES))
    if unknown:
        from .exceptions import ArgumentError
        raise ArgumentError.pyexc("Unknown helper", obj=unknown[0])


def _init_helpers(**helpers: Any) -> None:
    """Install helpers by name (called by the modules that define them)."""
    _check_helper_names(helpers)
    _helpers.update(helpers)


def _modify_helpers(**helpers: Any) -> dict[str, Any]:
    """Replace helpers by name and return a dict of their previous values."""
    _check_helper_names(helpers)
    previous = {name: _helpers[name] for name in helpers}
    _helpers.update(helpers)
    return previous


def _get_helper(name: str) -> Any:
    """Return the helper registered under ``name`` (None if not installed yet)."""
    _check_helper_names((name,))
    return _helpers[name]


_LAZY_TYPES: dict[str, str] = {
    "Result": "couchbase.result",
    "OperationResult": "couchbase.result",
    "ValueResult": "couchbase.result",
    "HttpResult": "couchbase.result",
    "MultiResult": "couchbase.result",
    "Arguments": "couchbase.result",
    "ObserveInfo": "couchbase.result",
    "Transcoder": "couchbase.transcoder",
    "Connection": "couchbase.connection",
}


def __getattr__(name: str) -> Any:
    """Resolve the 1.0 type names on first use so this module stays import-cycle free."""
    module = _LAZY_TYPES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

