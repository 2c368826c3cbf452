"""JSON key collation of Couchbase 2.x views as order-preserving byte strings.

Every JSON value maps to a ``bytes`` sort key whose plain byte order equals the view
collation: type order ``null < false < true < numbers < strings < arrays < objects``,
numbers as doubles, strings by the ICU root collator (tertiary strength), arrays and
objects element by element with a shorter prefix first.  Indexes then sort, bisect and
compare keys as bytes, with no comparison callbacks.
"""
from __future__ import annotations

import functools
import struct
import threading
from typing import Any, Callable

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
    """Return a function giving the ICU root-locale sort key of a string (pyuca if no ICU)."""
    try:
        import icu
    except ImportError:  # pragma: no cover - exercised only where PyICU is missing
        return _make_pyuca_key()
    local = threading.local()

    def icu_key(text: str) -> bytes:
        collator = getattr(local, "collator", None)
        if collator is None:
            collator = icu.Collator.createInstance(icu.Locale(""))
            collator.setStrength(icu.Collator.TERTIARY)
            local.collator = collator
        return collator.getSortKey(text)

    return icu_key


def _make_pyuca_key() -> Callable[[str], bytes]:  # pragma: no cover - fallback only
    """Return a pyuca-based sort key function whose bytes hold no 0x00 before the end."""
    import pyuca

    collator = pyuca.Collator()

    def uca_key(text: str) -> bytes:
        return b"".join(struct.pack(">H", weight + 1) for weight in collator.sort_key(text)) + _END

    return uca_key


_string_key = functools.lru_cache(maxsize=1 << 16)(_make_string_key())


def _number_key(number: float) -> bytes:
    """Encode a double so that unsigned big-endian byte order equals numeric order."""
    if number == 0:
        number = 0.0
    (bits,) = _u64.unpack(_double.pack(number))
    bits = bits ^ _ALL if bits & _SIGN else bits | _SIGN
    return bytes((_NUMBER,)) + _u64.pack(bits)


def _encode(value: Any, out: list[bytes]) -> None:
    """Append the sort key pieces of one JSON value to ``out``."""
    if isinstance(value, str):
        out.append(_STRING)
        out.append(_string_key(value))
    elif value is None:
        out.append(_NULL)
    elif value is True:
        out.append(_TRUE)
    elif value is False:
        out.append(_FALSE)
    elif isinstance(value, (int, float)):
        try:
            out.append(_number_key(float(value)))
        except OverflowError:
            out.append(_number_key(float("inf") if value > 0 else float("-inf")))
    elif isinstance(value, (list, tuple)):
        out.append(_ARRAY)
        for element in value:
            _encode(element, out)
        out.append(_END)
    elif isinstance(value, dict):
        out.append(_OBJECT)
        for name, member in value.items():
            out.append(_STRING)
            out.append(_string_key(name))
            _encode(member, out)
        out.append(_END)
    else:
        raise TypeError(f"cannot collate a value of type {type(value).__name__}: {value!r}")


def sort_key(value: Any) -> bytes:
    """Return the byte string whose order is the view collation order of ``value``."""
    if isinstance(value, str):
        return _STRING + _string_key(value)
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def collate(left: Any, right: Any) -> int:
    """Compare two JSON values by view collation: negative, zero or positive."""
    a, b = sort_key(left), sort_key(right)
    return (a > b) - (a < b)

