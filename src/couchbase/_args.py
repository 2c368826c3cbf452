"""Argument validation of the 1.0 API (sdk-1.0-api.md 3, "Common argument rules"):
TTLs, CAS values and multi-key collections, checked before anything is queued."""
from __future__ import annotations

from typing import Any

from .exceptions import ArgumentError
from .result import Result

#: Largest expiry the wire format carries (32-bit extras field).
MAX_TTL = 0xFFFFFFFF
MAX_CAS = 0xFFFFFFFFFFFFFFFF


def ttl_value(ttl: Any, what: str = "ttl") -> int:
    """None/0/False -> 0; a non-number, negative or too large value -> ArgumentError."""
    if ttl is None or ttl is False:
        return 0
    if isinstance(ttl, float) and ttl.is_integer():
        ttl = int(ttl)
    if not isinstance(ttl, int):
        raise ArgumentError.pyexc(f"{what} must be a number", obj=ttl)
    if ttl < 0 or ttl > MAX_TTL:
        raise ArgumentError.pyexc(f"{what} must be between 0 and {MAX_TTL}", obj=ttl)
    return int(ttl)


def cas_value(cas: Any, what: str = "cas") -> int:
    """A CAS argument: an unsigned 64-bit int (None -> 0)."""
    if cas is None:
        return 0
    if isinstance(cas, bool) or not isinstance(cas, int) or not 0 <= cas <= MAX_CAS:
        raise ArgumentError.pyexc(f"{what} must be an unsigned 64-bit integer", obj=cas)
    return cas


def cas_of(spec: Any, key: Any) -> int:
    """CAS from an int, a Result, or a ``{'cas': n}`` dict (unlock/delete options)."""
    if isinstance(spec, Result):
        return spec.cas
    if isinstance(spec, dict):
        return cas_value(spec.get("cas", 0))
    try:
        return cas_value(spec)
    except ArgumentError:
        raise ArgumentError.pyexc(f"bad CAS for key {key!r}", obj=spec) from None


def key_items(keys: Any, dict_only: bool = False, what: str = "keys") -> list[tuple[Any, Any]]:
    """(key, option) pairs of a multi-key collection: a dict gives its items, any other
    sized non-string iterable gives (key, None); ``dict_only`` demands a dict."""
    if isinstance(keys, dict):
        items = list(keys.items())
    elif dict_only:
        raise ArgumentError.pyexc(f"{what} must be a dictionary", obj=keys)
    elif keys.__class__ is list or keys.__class__ is tuple:
        items = [(key, None) for key in keys]
    elif isinstance(keys, (str, bytes, bytearray)) or keys is None:
        raise ArgumentError.pyexc(f"{what} must be a collection of keys, not a single value",
                                  obj=keys)
    else:
        try:
            count = len(keys)
        except TypeError as exc:
            raise ArgumentError.pyexc(f"{what} must be a sized collection", obj=keys,
                                      inner=exc) from None
        items = []
        iterator = iter(keys)
        for _ in range(count):
            try:
                items.append((next(iterator), None))
            except StopIteration:
                raise ArgumentError.pyexc(f"{what} yielded fewer items than its len()",
                                          obj=keys) from None
    if not items:
        raise ArgumentError.pyexc("Key list is empty", obj=keys)
    return items
