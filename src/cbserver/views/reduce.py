"""Reduce functions of views: the built-ins ``_count``, ``_sum``, ``_stats`` and JavaScript.

A reducer turns map rows into one value (``reduce``) and combines earlier results
(``rereduce``), as CouchDB-style views define it; JavaScript reduces see the 2.x call
shape ``function(keys, values, rereduce)`` with ``keys`` a list of ``[key, docid]``.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

from .js import JsError, JsRuntime

#: Rows handed to one JavaScript reduce call; larger groups reduce in chunks, then rereduce.
JS_CHUNK = 1000


class ReduceError(Exception):
    """A reduce function failed for the rows of a query."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Reducer(Protocol):
    """What the query engine needs of a reduce function."""

    def reduce(self, keys: Sequence[list[Any]], values: Sequence[Any]) -> Any:
        """Reduce map rows (``keys`` are ``[key, docid]`` pairs) to one value."""

    def rereduce(self, values: Sequence[Any]) -> Any:
        """Combine values produced by earlier ``reduce``/``rereduce`` calls."""


def _is_number(value: Any) -> bool:
    """Tell whether a JSON value is a number (booleans are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class CountReducer:
    """``_count``: the number of rows; rereduce sums the counts."""

    def reduce(self, keys: Sequence[list[Any]], values: Sequence[Any]) -> Any:
        """Count the rows."""
        return len(values)

    def rereduce(self, values: Sequence[Any]) -> Any:
        """Sum partial counts."""
        return sum(values)


class SumReducer:
    """``_sum``: the sum of numeric values."""

    def reduce(self, keys: Sequence[list[Any]], values: Sequence[Any]) -> Any:
        """Sum the values, which must all be numbers."""
        if not all(_is_number(v) for v in values):
            raise ReduceError("Builtin _sum function requires map values to be numbers")
        return sum(values)

    def rereduce(self, values: Sequence[Any]) -> Any:
        """Sum partial sums."""
        return sum(values)


class StatsReducer:
    """``_stats``: sum, count, min, max and sum of squares of numeric values."""

    def reduce(self, keys: Sequence[list[Any]], values: Sequence[Any]) -> Any:
        """Compute the statistics of numeric values."""
        if not all(_is_number(v) for v in values):
            raise ReduceError("Builtin _stats function requires map values to be numbers")
        if not values:
            return {"sum": 0, "count": 0, "min": 0, "max": 0, "sumsqr": 0}
        return {"sum": sum(values), "count": len(values), "min": min(values),
                "max": max(values), "sumsqr": sum(v * v for v in values)}

    def rereduce(self, values: Sequence[Any]) -> Any:
        """Merge partial statistics."""
        parts = [v for v in values if v["count"]]
        if not parts:
            return {"sum": 0, "count": 0, "min": 0, "max": 0, "sumsqr": 0}
        return {"sum": sum(p["sum"] for p in parts), "count": sum(p["count"] for p in parts),
                "min": min(p["min"] for p in parts), "max": max(p["max"] for p in parts),
                "sumsqr": sum(p["sumsqr"] for p in parts)}


_BUILTINS = (("_count", CountReducer), ("_sum", SumReducer), ("_stats", StatsReducer))


def builtin_reducer(source: str) -> Reducer | None:
    """Return the built-in reducer named by ``source`` (prefix match), None if unknown."""
    name = source.strip()
    for prefix, cls in _BUILTINS:
        if name.startswith(prefix):
            return cls()
    return None


class JsReducer:
    """A JavaScript reduce function run in the design document's runtime."""

    def __init__(self, runtime: JsRuntime, view: int) -> None:
        self._runtime = runtime
        self._view = view

    def _call(self, keys: Any, values: Sequence[Any], rereduce: bool) -> Any:
        """Run the function once, turning JavaScript failures into ReduceError."""
        try:
            return self._runtime.reduce(self._view, keys, list(values), rereduce)
        except JsError as exc:
            raise ReduceError(f"reduce function failed: {exc.reason}") from None

    def reduce(self, keys: Sequence[list[Any]], values: Sequence[Any]) -> Any:
        """Reduce in chunks of JS_CHUNK rows, rereducing the partial results."""
        if len(values) <= JS_CHUNK:
            return self._call(list(keys), values, False)
        partials = [self._call(list(keys[i:i + JS_CHUNK]), values[i:i + JS_CHUNK], False)
                    for i in range(0, len(values), JS_CHUNK)]
        return self.rereduce(partials)

    def rereduce(self, values: Sequence[Any]) -> Any:
        """Rereduce in chunks of JS_CHUNK values until one value is left."""
        values = list(values)
        while len(values) > JS_CHUNK:
            values = [self._call(None, values[i:i + JS_CHUNK], True)
                      for i in range(0, len(values), JS_CHUNK)]
        return self._call(None, values, True)
