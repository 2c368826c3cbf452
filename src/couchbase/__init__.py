"""Couchbase Python client, classic 1.0 API."""
from __future__ import annotations

from typing import Any

from . import _libcouchbase as _LCB
from .connection import Connection
from .transcoder import set_json_converters, set_pickle_converters
from .user_constants import *  # noqa: F401,F403  (the 1.0 public constants)
from .user_constants import LOCKMODE_EXC, __all__ as _constants

__version__ = "1.0.0"


class Couchbase:
    """Entry point of the 1.0 API: ``Couchbase.connect(bucket=...)``."""

    @staticmethod
    def connect(bucket: str | None = None, host: Any = "localhost", port: int = 8091,
                username: str | None = None, password: str | None = None, quiet: bool = False,
                conncache: str | None = None, unlock_gil: bool = True, timeout: float = 2.5,
                transcoder: Any = None, lockmode: int = LOCKMODE_EXC, **kwargs: Any) -> Connection:
        """Connect to ``bucket`` and return a :class:`Connection`.

        1.0 accepted ``lockmode`` here but dropped it (fixed in 1.1, PYCBC-192); the
        documented intent is to honour it, so it is forwarded.
        """
        return Connection(bucket=bucket, host=host, port=port, username=username,
                          password=password, quiet=quiet, conncache=conncache,
                          unlock_gil=unlock_gil, timeout=timeout, transcoder=transcoder,
                          lockmode=lockmode, **kwargs)


__all__ = ["Couchbase", "Connection", "set_json_converters", "set_pickle_converters",
           "__version__", "_LCB", *_constants]
