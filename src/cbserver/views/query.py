"""Parsing and validation of view query parameters (protocol.md 7.2), both spellings."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

_UNSET: Any = object()
STALE_VALUES = ("ok", "false", "update_after")


class QueryParseError(Exception):
    """A query parameter is malformed or parameters contradict each other (HTTP 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ViewQuery:
    """The parsed parameters of one view query."""

    key: Any = _UNSET
    keys: list[Any] | None = None
    start_key: Any = _UNSET
    end_key: Any = _UNSET
    start_doc_id: str | None = None
    end_doc_id: str | None = None
    inclusive_end: bool = True
    descending: bool = False
    limit: int | None = None
    skip: int = 0
    group: bool = False
    group_level: int | None = None
    reduce: bool | None = None
    stale: str = "update_after"
    on_error: str = "continue"
    connection_timeout: int = 60000
    full_set: bool = False
    debug: bool = False
    include_docs: bool = False

    @property
    def has_key(self) -> bool:
        """Tell whether a single ``key`` was given."""
        return self.key is not _UNSET

    @property
    def has_start(self) -> bool:
        """Tell whether a start key was given."""
        return self.start_key is not _UNSET

    @property
    def has_end(self) -> bool:
        """Tell whether an end key was given."""
        return self.end_key is not _UNSET


def _bool(name: str, text: str) -> bool:
    """Parse a strict ``true``/``false`` parameter."""
    if text == "true":
        return True
    if text == "false":
        return False
    raise QueryParseError(f"Invalid boolean parameter `{name}`: {text!r} (use true or false)")


def _int(name: str, text: str, minimum: int = 0) -> int:
    """Parse a non-negative integer parameter."""
    try:
        value = int(text)
    except ValueError:
        raise QueryParseError(f"Invalid integer parameter `{name}`: {text!r}") from None
    if value < minimum:
        raise QueryParseError(f"Invalid value for `{name}`: {text!r} (must be >= {minimum})")
    return value


def _json(name: str, text: str) -> Any:
    """Parse a JSON-encoded parameter such as ``key`` or ``startkey``."""
    try:
        return json.loads(text)
    except ValueError:
        raise QueryParseError(f"Invalid JSON value for `{name}`: {text!r}") from None


_SPELLINGS = {
    "startkey": "start_key", "start_key": "start_key",
    "endkey": "end_key", "end_key": "end_key",
    "startkey_docid": "start_doc_id", "start_key_doc_id": "start_doc_id",
    "endkey_docid": "end_doc_id", "end_key_doc_id": "end_doc_id",
}


def _apply(query: ViewQuery, name: str, text: str) -> None:
    """Set one query-string parameter on ``query``."""
    if name in ("key", "startkey", "start_key", "endkey", "end_key"):
        setattr(query, _SPELLINGS.get(name, name), _json(name, text))
    elif name in ("startkey_docid", "start_key_doc_id", "endkey_docid", "end_key_doc_id"):
        setattr(query, _SPELLINGS[name], text)
    elif name == "keys":
        _set_keys(query, _json(name, text))
    elif name in ("inclusive_end", "descending", "group", "full_set", "debug", "include_docs"):
        setattr(query, name, _bool(name, text))
    elif name == "reduce":
        query.reduce = _bool(name, text)
    elif name in ("limit", "skip", "group_level"):
        setattr(query, name, _int(name, text))
    elif name == "connection_timeout":
        query.connection_timeout = _int(name, text)
    elif name == "stale":
        if text not in STALE_VALUES:
            raise QueryParseError(f"Invalid value for `stale`: {text!r} (use ok, false or update_after)")
        query.stale = text
    elif name == "on_error":
        if text not in ("continue", "stop"):
            raise QueryParseError(f"Invalid value for `on_error`: {text!r} (use continue or stop)")
        query.on_error = text
    elif name == "count":
        raise QueryParseError("Query parameter `count` is now 'limit'.")


def _set_keys(query: ViewQuery, keys: Any) -> None:
    """Set ``keys``, which must be a JSON array."""
    if not isinstance(keys, list):
        raise QueryParseError("`keys` must be a JSON array")
    query.keys = keys


def _apply_body(query: ViewQuery, body: Mapping[str, Any]) -> None:
    """Apply the members of a POST body (``keys`` and the merge parameters)."""
    for name, value in body.items():
        if name == "keys":
            _set_keys(query, value)
        elif name in ("connection_timeout", "on_error", "stale"):
            _apply(query, name, str(value) if not isinstance(value, bool) else str(value).lower())


def _check(query: ViewQuery) -> None:
    """Reject contradictory parameter combinations."""
    if query.keys is not None and (query.has_key or query.has_start or query.has_end):
        raise QueryParseError("`keys` is incompatible with `key`, `startkey` and `endkey`")
    if query.has_key and (query.has_start or query.has_end):
        raise QueryParseError("`key` is incompatible with `startkey` and `endkey`")
    if query.group and query.group_level is not None:
        raise QueryParseError("Query parameter `group_level` is not compatible with `group`")


def parse_query(params: Mapping[str, str], body: Mapping[str, Any] | None = None) -> ViewQuery:
    """Build a ViewQuery from query-string parameters and an optional JSON POST body."""
    query = ViewQuery()
    for name, text in params.items():
        _apply(query, name, text)
    if body:
        _apply_body(query, body)
    _check(query)
    return query
