"""The checksum of a commit log record: zlib's CRC-32, computed by the fastest code at hand.

Every record appended to the commit log carries the CRC-32 of its payload, and replay
checks it. :mod:`._crc32` computes the same number as ``zlib.crc32`` several times
faster where the CPU can fold with carry-less multiplication (PCLMULQDQ); elsewhere, or
when the extension is missing or ``CBSERVER_PURE_PYTHON`` is set, ``zlib.crc32`` does.
Either writes logs the other reads.
"""
from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from types import ModuleType

from ..pure_python import pure_python_requested

log = logging.getLogger(__name__)


def load_c() -> ModuleType | None:
    """Return :mod:`._crc32`, or None when the extension was not built."""
    try:
        from . import _crc32
    except ImportError as exc:
        log.debug("checksum: C extension unavailable (%s)", exc)
        return None
    return _crc32


def _select() -> Callable[..., int]:
    c_crc32 = None if pure_python_requested() else load_c()
    return c_crc32.crc32 if c_crc32 is not None and c_crc32.ACCELERATED else zlib.crc32


#: ``crc32(data, value=0)``: the folded C version where it is faster, else zlib's.
crc32: Callable[..., int] = _select()
