"""JSON key collation of Couchbase 2.x views as order-preserving byte strings.

Every JSON value maps to a ``bytes`` sort key whose plain byte order equals the view
collation: type order ``null < false < true < numbers < strings < arrays < objects``,
numbers as doubles, strings by the ICU root collator (tertiary strength), arrays and
objects element by element with a shorter prefix first.  Indexes then sort, bisect and
compare keys as bytes, with no comparison callbacks.

:func:`python_sort_key` is the reference; :data:`sort_key` is the C version of it from
:mod:`cbserver.views._collate` when that extension was built and ``CBSERVER_PURE_PYTHON``
is not set, else the reference.  Both share one string cache and one ICU key function:
``root_sort_key`` from :mod:`cbserver.views._icu_key` when it was built and
``CBSERVER_PURE_PYTHON`` is not set, else PyICU's ``getSortKey`` (the same bytes), else
pyuca where PyICU is missing.
"""
from __future__ import annotations

import logging
import struct
import threading
from types import ModuleType
from typing import Any, Callable

from ..pure_python import pure_python_requested

log = logging.getLogger(__name__)

_NULL = b"\x01"
_FALSE = b"\x02"
_TRUE = b"\x03"
_NUMBER = 0x04
_STRING = b"\x05"
_ARRAY = b"\x06"
_OBJECT = b"\x07"
_END = b"\x00"

_double = struct.Struct(">d")
_u64 = struct.Struct(">Q")
_SIGN = 1 << 63
_ALL = (1 << 64) - 1


def _make_string_key() -> Callable[[str], bytes]:
    """Return the ICU root-locale sort key function: C if built and allowed, else PyICU's."""
    if not pure_python_requested():
        try:
            from ._icu_key import root_sort_key
        except ImportError as exc:
            log.debug("view collation: C ICU keys unavailable (%s)", exc)
        else:
            return root_sort_key
    return _make_pyicu_key()


def _make_pyicu_key() -> Callable[[str], bytes]:
    """Return a function giving the ICU root-locale sort key of a string (pyuca if no ICU)."""
    try:
        import icu
    except ImportError:  # pragma: no cover - exercised only where PyICU is missing
        return _make_pyuca_key()
    class Collators(threading.local):
        """The root-locale collator of the current thread (ICU collators are per thread)."""

        def __init__(self) -> None:
            collator = icu.Collator.createInstance(icu.Locale(""))
            collator.setStrength(icu.Collator.TERTIARY)
            self.sort_key = collator.getSortKey

    collators = Collators()

    def icu_key(text: str) -> bytes:
        return collators.sort_key(text)

    return icu_key


def _make_pyuca_key() -> Callable[[str], bytes]:  # pragma: no cover - fallback only
    """Return a pyuca-based sort key function whose bytes hold no 0x00 before the end."""
    import pyuca

    collator = pyuca.Collator()

    def uca_key(text: str) -> bytes:
        return b"".join(struct.pack(">H", weight + 1) for weight in collator.sort_key(text)) + _END

    return uca_key


_string_key = _make_string_key()


def _number_key(number: float) -> bytes:
    """Encode a double so that unsigned big-endian byte order equals numeric order."""
    if number == 0:
        number = 0.0
    (bits,) = _u64.unpack(_double.pack(number))
    bits = bits ^ _ALL if bits & _SIGN else bits | _SIGN
    return bytes((_NUMBER,)) + _u64.pack(bits)


#: Strings whose sort keys are remembered (the cache starts over when full).
STRING_CACHE_SIZE = 1 << 16
_string_cache: dict[str, bytes] = {}


def _string(value: str) -> bytes:
    """Return the sort key of a string (cached: ICU sort keys are costly, view keys repeat)."""
    key = _string_cache.get(value)
    if key is None:
        if len(_string_cache) >= STRING_CACHE_SIZE:
            _string_cache.clear()
        key = _string_cache[value] = _STRING + _string_key(value)
    return key


def _number(value: float | int) -> bytes:
    """Return the sort key of a number (out-of-range integers saturate to infinity)."""
    try:
        return _number_key(float(value))
    except OverflowError:
        return _number_key(float("inf") if value > 0 else float("-inf"))


def _array(value: list[Any] | tuple[Any, ...]) -> bytes:
    """Return the sort key of an array: its elements in order, then the end marker."""
    return b"".join([_ARRAY, *map(python_sort_key, value), _END])


def _object(value: dict[str, Any]) -> bytes:
    """Return the sort key of an object: its members in order, then the end marker."""
    out = [_OBJECT]
    for name, member in value.items():
        out.append(_string(name))
        out.append(python_sort_key(member))
    out.append(_END)
    return b"".join(out)


_KEYS: dict[type, Callable[[Any], bytes]] = {
    str: _string, int: _number, float: _number, list: _array, tuple: _array, dict: _object,
    bool: lambda value: _TRUE if value else _FALSE, type(None): lambda value: _NULL,
}


def python_sort_key(value: Any) -> bytes:
    """Return the byte string whose order is the view collation order of ``value``."""
    encode = _KEYS.get(type(value))
    if encode is None:
        raise TypeError(f"cannot collate a value of type {type(value).__name__}: {value!r}")
    return encode(value)


def configure_c(module: ModuleType) -> None:
    """Hand the C module this module's string cache, ICU key function and cache size."""
    module.configure(_string_cache, _string_key, STRING_CACHE_SIZE)


def load_c() -> ModuleType | None:
    """Return the configured C module, or None when the extension was not built."""
    try:
        from . import _collate
    except ImportError as exc:
        log.debug("view collation: C extension unavailable (%s)", exc)
        return None
    configure_c(_collate)
    return _collate


def _select() -> ModuleType | None:
    """Return the C module to use, unless it is missing or CBSERVER_PURE_PYTHON is set."""
    if pure_python_requested():
        log.debug("view collation: Python (CBSERVER_PURE_PYTHON is set)")
        return None
    return load_c()


#: The C module (``sort_key``, ``rows``) in use, or None for the Python reference.
C_COLLATE = _select()
#: The sort key function every index, query and reduce uses.
sort_key: Callable[[Any], bytes] = python_sort_key if C_COLLATE is None else C_COLLATE.sort_key


def collate(left: Any, right: Any) -> int:
    """Compare two JSON values by view collation: negative, zero or positive."""
    a, b = sort_key(left), sort_key(right)
    return (a > b) - (a < b)

