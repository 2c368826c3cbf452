"""Running a parsed query against a view index: ranges, keys, grouping, skip and limit."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from couchbase.protocol import vbucket_for_key

from .collation import sort_key
from .index import HIGHEST, LOWEST, Bound, Row, ViewIndex, lower_bound, upper_bound
from .indexer import DesignIndex
from .query import QueryParseError, ViewQuery
from .reduce import JS_CHUNK, Reducer, ReduceError

class ViewNotFound(Exception):
    """The design document has no view of that name (HTTP 404)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ViewResult:
    """A query result ready to stream: header fields, a lazy row iterator, late errors."""

    total_rows: int | None
    rows: Iterator[dict[str, Any]]
    errors: list[dict[str, str]] = field(default_factory=list)
    debug_info: dict[str, Any] | None = None


def _ranges(query: ViewQuery) -> list[tuple[Bound, Bound]]:
    """Return the (low, high) bounds to scan, in output order, for the query's keys."""
    if query.keys is not None:
        return [(lower_bound(k, None), upper_bound(k, None)) for k in query.keys]
    if query.has_key:
        return [(lower_bound(query.key, None), upper_bound(query.key, None))]
    start_doc = query.start_doc_id if query.has_start else None
    end_doc = query.end_doc_id if query.has_end else None
    if query.has_start and query.has_end:
        first, last = sort_key(query.start_key), sort_key(query.end_key)
        if (first > last and not query.descending) or (first < last and query.descending):
            other = "false" if query.descending else "true"
            raise QueryParseError("No rows can match your key range, reverse your start_key and "
                                  f"end_key or set descending={other}")
    if not query.descending:
        low = lower_bound(query.start_key, start_doc) if query.has_start else LOWEST
        if not query.has_end:
            high = HIGHEST
        elif query.inclusive_end:
            high = upper_bound(query.end_key, end_doc)
        else:
            high = lower_bound(query.end_key, end_doc)
        return [(low, high)]
    high = upper_bound(query.start_key, start_doc) if query.has_start else HIGHEST
    if not query.has_end:
        low = LOWEST
    elif query.inclusive_end:
        low = lower_bound(query.end_key, end_doc)
    else:
        low = upper_bound(query.end_key, end_doc)
    return [(low, high)]


def _scan(index: ViewIndex, query: ViewQuery, accept: Callable[[str], bool] | None) -> Iterator[Row]:
    """Yield the index rows the query selects, in output order."""
    for low, high in _ranges(query):
        yield from index.scan(low, high, query.descending, accept)


def _group_key(key: Any, query: ViewQuery) -> Any:
    """Return the group a row key belongs to under ``group``/``group_level``."""
    if query.group:
        return key
    if query.group_level:
        return key[:query.group_level] if isinstance(key, list) else key
    return None


def _reduce_rows(rows: Iterator[Row], reducer: Reducer, query: ViewQuery) -> Iterator[dict[str, Any]]:
    """Group consecutive rows and reduce each group, chunk by chunk with rereduce."""
    grouped = query.group or bool(query.group_level)
    current: bytes | None = None
    group_key: Any = None
    keys: list[list[Any]] = []
    values: list[Any] = []
    partials: list[Any] = []
    seen = False

    def finish() -> dict[str, Any]:
        if values or not partials:
            partials.append(reducer.reduce(keys, values))
        value = partials[0] if len(partials) == 1 else reducer.rereduce(partials)
        return {"key": group_key, "value": value}

    for row in rows:
        if grouped:
            candidate = _group_key(row[3], query)
            marker = sort_key(candidate)
            if seen and marker != current:
                yield finish()
                keys, values, partials = [], [], []
            current, group_key = marker, candidate
        seen = True
        keys.append([row[3], row[1]])
        values.append(row[4])
        if len(values) >= JS_CHUNK:
            partials.append(reducer.reduce(keys, values))
            keys, values = [], []
    if seen:
        yield finish()


def _guarded(rows: Iterator[dict[str, Any]], errors: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    """Stop the rows at a reduce failure and report it in ``errors`` instead."""
    try:
        yield from rows
    except ReduceError as exc:
        errors.append({"from": "local", "reason": exc.reason})


def _dev_subset(design: DesignIndex, num_vbuckets: int, item_count: int) -> Callable[[str], bool] | None:
    """Return the doc filter of a dev view on a large bucket: one vBucket's documents."""
    if item_count <= num_vbuckets * 20:
        return None
    doc_ids = {d for view in design.views.values() for d in view.doc_ids()}
    if not doc_ids:
        return None
    chosen = min(vbucket_for_key(d.encode(), num_vbuckets) for d in doc_ids)
    return lambda doc_id: vbucket_for_key(doc_id.encode(), num_vbuckets) == chosen


def run_query(design: DesignIndex, view_name: str, query: ViewQuery, *, num_vbuckets: int,
              item_count: int) -> ViewResult:
    """Validate ``query`` against the view and return its lazily produced result."""
    index = design.views.get(view_name)
    if index is None:
        raise ViewNotFound(f"View `{view_name}` not defined in local design document `{design.ddoc.doc_id}`.")
    reducer = design.reducers.get(view_name)
    if reducer is None and query.reduce:
        raise QueryParseError("Invalid URL parameter `reduce` for map view.")
    reducing = reducer is not None and query.reduce is not False
    if not reducing and (query.group or query.group_level is not None):
        raise QueryParseError("Invalid URL parameter `group` or `group_level` for non-reduce view.")
    if reducing and query.keys is not None and not (query.group or query.group_level):
        raise QueryParseError("Multi-key fetches for reduce views must use `group=true`")
    if reducing and query.include_docs:
        raise QueryParseError("Query parameter `include_docs` is invalid for reduce views.")
    _ranges(query)
    accept = _dev_subset(design, num_vbuckets, item_count) if design.ddoc.is_dev and not query.full_set else None
    errors = [{"from": "local", "reason": f"map of `{doc_id}` failed: {reason}"}
              for doc_id, reason in design.errors.items()]
    scanned = _scan(index, query, accept)
    if reducing:
        assert reducer is not None
        rows: Iterator[dict[str, Any]] = _reduce_rows(scanned, reducer, query)
        total = None
    else:
        rows = _map_rows(scanned, query, num_vbuckets)
        total = len(index) if accept is None else sum(1 for _ in index.scan(LOWEST, HIGHEST, False, accept))
    stop = query.skip + query.limit if query.limit is not None else None
    rows = itertools.islice(rows, query.skip, stop)
    if query.on_error == "stop" and errors:
        rows = iter(())
    debug = None
    if query.debug:
        debug = {"local": {"builds": design.builds, "updates": design.updates,
                           "signature": design.signature, "subset": accept is not None}}
    result = ViewResult(total, rows, errors, debug)
    result.rows = _guarded(rows, result.errors)
    return result


def _map_rows(rows: Iterator[Row], query: ViewQuery, num_vbuckets: int) -> Iterator[dict[str, Any]]:
    """Turn index rows into map-view result rows (with the partition when debugging)."""
    for row in rows:
        out: dict[str, Any] = {"id": row[1], "key": row[3], "value": row[4]}
        if query.debug:
            out["partition"] = vbucket_for_key(row[1].encode(), num_vbuckets)
        yield out
