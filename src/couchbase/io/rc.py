"""libcouchbase 2.0 error codes (sdk-1.0-api.md 9) and the server-status mapping of
spec 13: the I/O layer reports every outcome as one of these numbers."""
from __future__ import annotations

from enum import IntEnum

from ..protocol import Status


class Rc(IntEnum):
    SUCCESS = 0x00
    AUTH_CONTINUE = 0x01
    AUTH_ERROR = 0x02
    DELTA_BADVAL = 0x03
    E2BIG = 0x04
    EBUSY = 0x05
    EINTERNAL = 0x06
    EINVAL = 0x07
    ENOMEM = 0x08
    ERANGE = 0x09
    ERROR = 0x0A
    ETMPFAIL = 0x0B
    KEY_EEXISTS = 0x0C
    KEY_ENOENT = 0x0D
    DLOPEN_FAILED = 0x0E
    DLSYM_FAILED = 0x0F
    NETWORK_ERROR = 0x10
    NOT_MY_VBUCKET = 0x11
    NOT_STORED = 0x12
    NOT_SUPPORTED = 0x13
    UNKNOWN_COMMAND = 0x14
    UNKNOWN_HOST = 0x15
    PROTOCOL_ERROR = 0x16
    ETIMEDOUT = 0x17
    CONNECT_ERROR = 0x18
    BUCKET_ENOENT = 0x19
    CLIENT_ENOMEM = 0x1A
    CLIENT_ETMPFAIL = 0x1B
    EBADHANDLE = 0x1C
    SERVER_BUG = 0x1D
    PLUGIN_VERSION_MISMATCH = 0x1E
    INVALID_HOST_FORMAT = 0x1F
    INVALID_CHAR = 0x20


_STATUS_TO_RC = {
    Status.SUCCESS: Rc.SUCCESS,
    Status.KEY_ENOENT: Rc.KEY_ENOENT,
    Status.KEY_EEXISTS: Rc.KEY_EEXISTS,
    Status.E2BIG: Rc.E2BIG,
    Status.EINVAL: Rc.EINVAL,
    Status.NOT_STORED: Rc.NOT_STORED,
    Status.DELTA_BADVAL: Rc.DELTA_BADVAL,
    Status.NOT_MY_VBUCKET: Rc.NOT_MY_VBUCKET,
    Status.AUTH_ERROR: Rc.AUTH_ERROR,
    Status.AUTH_CONTINUE: Rc.AUTH_CONTINUE,
    Status.ERANGE: Rc.ERANGE,
    Status.UNKNOWN_COMMAND: Rc.UNKNOWN_COMMAND,
    Status.ENOMEM: Rc.ENOMEM,
    Status.NOT_SUPPORTED: Rc.NOT_SUPPORTED,
    Status.EINTERNAL: Rc.EINTERNAL,
    Status.EBUSY: Rc.EBUSY,
    Status.ETMPFAIL: Rc.ETMPFAIL,
}


_RC_OF_STATUS = {int(status): int(rc) for status, rc in _STATUS_TO_RC.items()}
_GENERIC_ERROR = Rc.ERROR.value


def rc_for_status(status: int) -> int:
    """lcb rc for a server status; unknown statuses are the generic ERROR."""
    return _RC_OF_STATUS.get(status, _GENERIC_ERROR)


class ClientIOError(Exception):
    """An I/O-layer failure carrying the lcb rc the API layer maps to an exception."""

    def __init__(self, rc: int, message: str) -> None:
        super().__init__(message)
        self.rc = int(rc)
        self.message = message
