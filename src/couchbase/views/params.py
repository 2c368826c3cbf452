"""View query options: validation, conversion and URL encoding (sdk-1.0-api.md 10).

``Query`` keeps, per option, what the user gave and its converted text; ``encoded``
renders the query string a view request appends to ``make_dvpath(design, view)``.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable
from urllib.parse import quote

from ..exceptions import ArgumentError

STALE_UPDATE_BEFORE = "false"
STALE_UPDATE_AFTER = "update_after"
STALE_OK = "ok"
ONERROR_CONTINUE = "continue"
ONERROR_STOP = "stop"


class _Unspec:
    """Placeholder meaning "option not set"; assigning it removes an option."""

    _instance: _Unspec | None = None

    def __new__(cls) -> _Unspec:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "<Placeholder>"

    def __copy__(self) -> _Unspec:
        return self

    def __deepcopy__(self, memo: dict) -> _Unspec:
        return self

    def __reduce__(self) -> str:
        return "UNSPEC"


UNSPEC = _Unspec()


class Params:
    """Names of the view options ``Query`` understands."""

    descending = "descending"
    startkey = "startkey"
    startkey_docid = "startkey_docid"
    endkey = "endkey"
    endkey_docid = "endkey_docid"
    key = "key"
    keys = "keys"
    inclusive_end = "inclusive_end"
    group = "group"
    group_level = "group_level"
    reduce = "reduce"
    skip = "skip"
    limit = "limit"
    on_error = "on_error"
    stale = "stale"
    debug = "debug"
    connection_timeout = "connection_timeout"
    full_set = "full_set"
    mapkey_single = "mapkey_single"
    mapkey_multi = "mapkey_multi"
    mapkey_range = "mapkey_range"
    dockey_range = "dockey_range"


def _bad(option: str, value: Any, why: str, inner: BaseException | None = None) -> ArgumentError:
    """Build the ArgumentError for a rejected view option value."""
    return ArgumentError.pyexc(f"Bad value for view option {option!r}: {why}", obj=value,
                               inner=inner)


def _bool_param(option: str, value: Any) -> str:
    """Booleans and numbers by truthiness; only the strings "true"/"false" pass."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if value in ("true", "false"):
            return value
        raise _bad(option, value, 'only "true" or "false" strings are allowed')
    if isinstance(value, (int, float)):
        return "true" if value else "false"
    raise _bad(option, value, "expected a boolean")


def _num_param(option: str, value: Any) -> str:
    """Integers (or their text), never booleans."""
    if isinstance(value, bool):
        raise _bad(option, value, "expected a number, not a boolean")
    try:
        return str(int(value))
    except (TypeError, ValueError) as exc:
        raise _bad(option, value, "expected a number", exc) from exc


def _string_param(option: str, value: Any) -> str:
    """Strings as they are; numbers as their text; nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _bad(option, value, "expected a string or a number")


def _jval_param(option: str, value: Any) -> str:
    """Any JSON-serialisable value, as JSON text."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise _bad(option, value, "not JSON serializable", exc) from exc


def _jarray_param(option: str, value: Any) -> str:
    """A list or tuple, as a JSON array."""
    text = _jval_param(option, value)
    if not text.startswith("["):
        raise _bad(option, value, "expected a list or tuple")
    return text


def _stale_param(option: str, value: Any) -> str:
    """"ok", "false", "update_after", or a boolean (true means "ok")."""
    if isinstance(value, str) and value in (STALE_OK, STALE_UPDATE_BEFORE, STALE_UPDATE_AFTER):
        return value
    text = _bool_param(option, value)
    return STALE_OK if text == "true" else text


def _onerror_param(option: str, value: Any) -> str:
    """Only "continue" or "stop"."""
    if isinstance(value, str) and value in (ONERROR_CONTINUE, ONERROR_STOP):
        return value
    raise _bad(option, value, 'expected "continue" or "stop"')


_HANDLER_MAP: dict[str, Callable[[str, Any], str]] = {
    Params.descending: _bool_param,
    Params.full_set: _bool_param,
    Params.group: _bool_param,
    Params.inclusive_end: _bool_param,
    Params.reduce: _bool_param,
    Params.debug: _bool_param,
    Params.group_level: _num_param,
    Params.skip: _num_param,
    Params.limit: _num_param,
    Params.connection_timeout: _num_param,
    Params.startkey: _jval_param,
    Params.endkey: _jval_param,
    Params.key: _jval_param,
    Params.keys: _jarray_param,
    Params.startkey_docid: _string_param,
    Params.endkey_docid: _string_param,
    Params.on_error: _onerror_param,
    Params.stale: _stale_param,
}

_ALIASES = {Params.mapkey_single: Params.key, Params.mapkey_multi: Params.keys}
_RANGES = {
    Params.mapkey_range: (Params.startkey, Params.endkey),
    Params.dockey_range: (Params.startkey_docid, Params.endkey_docid),
}


def _option_property(name: str) -> property:
    """Property reading/writing one option of a Query."""

    def get(self: Query) -> Any:
        return self._get_option(name)

    def set(self: Query, value: Any) -> None:
        self._set_option(name, value)

    return property(get, set, doc=f"The {name!r} view option.")


def _range_property(name: str) -> property:
    """Property setting a start/end option pair from a 1- or 2-element sequence."""
    start, end = _RANGES[name]

    def get(self: Query) -> list[Any]:
        return [self._get_option(start), self._get_option(end)]

    def set(self: Query, value: Any) -> None:
        self._set_range(name, start, end, value)

    return property(get, set, doc=f"Sets {start!r} and {end!r} together.")


class Query:
    """A set of view options, validated as they are set and encoded on demand."""

    STRING_RANGE_END = "\u0fff"

    def __init__(self, passthrough: bool = False, unrecognized_ok: bool = False,
                 **params: Any) -> None:
        self.passthrough = passthrough
        self.unrecognized_ok = unrecognized_ok
        self._real_options: dict[str, str] = {}
        self._user_options: dict[str, Any] = {}
        self._extra_options: dict[str, str] = {}
        self._base_str: str | None = None
        self._apply(params)

    descending = _option_property(Params.descending)
    startkey = _option_property(Params.startkey)
    endkey = _option_property(Params.endkey)
    startkey_docid = _option_property(Params.startkey_docid)
    endkey_docid = _option_property(Params.endkey_docid)
    keys = _option_property(Params.keys)
    key = _option_property(Params.key)
    inclusive_end = _option_property(Params.inclusive_end)
    skip = _option_property(Params.skip)
    limit = _option_property(Params.limit)
    on_error = _option_property(Params.on_error)
    stale = _option_property(Params.stale)
    debug = _option_property(Params.debug)
    connection_timeout = _option_property(Params.connection_timeout)
    full_set = _option_property(Params.full_set)
    reduce = _option_property(Params.reduce)
    group = _option_property(Params.group)
    group_level = _option_property(Params.group_level)
    mapkey_single = _option_property(Params.key)
    mapkey_multi = _option_property(Params.keys)
    mapkey_range = _range_property(Params.mapkey_range)
    dockey_range = _range_property(Params.dockey_range)

    def _get_option(self, name: str) -> Any:
        """User-given value if any, else the converted text, else UNSPEC."""
        if name in self._user_options:
            return self._user_options[name]
        return self._real_options.get(name, UNSPEC)

    def _convert(self, name: str, value: Any) -> str:
        """Convert a known option's value (as a plain string in passthrough mode)."""
        if self.passthrough:
            return _string_param(name, value)
        return _HANDLER_MAP[name](name, value)

    def _store(self, name: str, value: Any, from_user: bool) -> None:
        """Convert and store one option; UNSPEC removes it."""
        if value is UNSPEC:
            self._real_options.pop(name, None)
            self._user_options.pop(name, None)
            return
        self._real_options[name] = self._convert(name, value)
        if from_user:
            self._user_options[name] = value

    def _set_option(self, name: str, value: Any) -> None:
        """Set an option directly, as the user gave it."""
        self._store(name, value, from_user=True)

    def _set_range(self, name: str, start: str, end: str, value: Any) -> None:
        """Set the start/end pair behind a range option."""
        if value is not UNSPEC and not isinstance(value, (list, tuple)):
            raise _bad(name, value, "expected a list or tuple")
        for option in (start, end):
            if option in self._user_options:
                raise _bad(name, value, f"{option!r} was already set directly")
        if not value:
            self._real_options.pop(start, None)
            self._real_options.pop(end, None)
            return
        if len(value) not in (1, 2):
            raise _bad(name, value, "expected 1 or 2 elements")
        # 1.0 raised AttributeError for a one-element tuple; the documented intent
        # is that one element sets only the start, whatever the sequence type.
        start_value = value[0]
        end_value = value[1] if len(value) == 2 else UNSPEC
        self._store(start, start_value, from_user=False)
        self._store(end, end_value, from_user=False)

    def update(self, copy: bool = False, **params: Any) -> Query:
        """Set options from keywords (on a deep copy if ``copy``); return the Query."""
        target = self._deepcopy() if copy else self
        target._apply(params)
        return target

    def _apply(self, params: dict[str, Any]) -> None:
        """Set every option of ``params``, known ones through their properties."""
        for name, value in params.items():
            if name in _HANDLER_MAP or name in _ALIASES or name in _RANGES:
                setattr(self, name, value)
            elif self.unrecognized_ok:
                if value is UNSPEC:
                    self._extra_options.pop(name, None)
                else:
                    self._extra_options[name] = _string_param(name, value)
            else:
                raise ArgumentError.pyexc(f"Unrecognized view option {name!r}", obj=value)

    def _deepcopy(self) -> Query:
        """Independent copy of this Query."""
        return copy.deepcopy(self)

    @classmethod
    def from_any(cls, params: Any) -> Query:
        """Build a Query from a Query (copied), a dict of options or an encoded string."""
        if isinstance(params, Query):
            return params._deepcopy()
        if isinstance(params, dict):
            return cls(**params)
        if isinstance(params, str):
            query = cls()
            query._base_str = params
            return query
        raise ArgumentError.pyexc("View parameters must be a Query, a dict or a string",
                                  obj=params)

    @property
    def encoded(self) -> str:
        """The options as a URL query string (without the leading ``?``)."""
        if self.passthrough:
            parts = [f"{name}={value}" for name, value in self._real_options.items()]
        else:
            parts = [f"{quote(name)}={quote(value)}"
                     for name, value in self._real_options.items()]
        parts.extend(f"{name}={value}" for name, value in self._extra_options.items())
        rest = "&".join(parts)
        if self._base_str is not None:
            return self._base_str + "&" + rest
        return rest

    @property
    def has_blob(self) -> bool:
        """True when the encoding contains text the client could not validate."""
        return bool(self._base_str or self.unrecognized_ok or self.passthrough)

    def __repr__(self) -> str:
        return f"Query:{self.encoded!r}"


def make_options_string(input: Query | dict[str, Any], unrecognized_ok: bool = False,
                        passthrough: bool = False) -> str:
    """Encode a Query, or a dict of options, as a URL query string."""
    if not isinstance(input, Query):
        if not isinstance(input, dict):
            raise ArgumentError.pyexc("View options must be a Query or a dict", obj=input)
        input = Query(passthrough=passthrough, unrecognized_ok=unrecognized_ok, **input)
    return input.encoded


def make_dvpath(doc: str, view: str) -> str:
    """Path of a view relative to the bucket, ready for the query string."""
    return f"_design/{doc}/_view/{view}?"
