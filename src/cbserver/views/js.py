"""Sandboxed QuickJS runtime running the map and reduce functions of one design document.

Maps run in batches (see :mod:`.map_batch`); every call has a CPU-time and a memory
limit.  A runaway (timeout, out of memory, stack overflow) discards the context, which
is rebuilt on the next call, so no other document, view or client is affected.  The
runtime also knows, from its map sources, which document members the maps can read
(:func:`.map_reads.read_members`), so that batches may cut documents down to them, and
whether any map can read the ``meta`` members a batch otherwise leaves out.
"""
from __future__ import annotations

import copy
import json
import logging
import threading
from typing import Any, Sequence

import quickjs

from .js_prelude import PRELUDE
from .map_reads import read_members, read_meta

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 2.0
DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024
_STACK_LIMIT = 1024 * 1024
_FATAL_MARKERS = ("InternalError", "StackOverflow")
#: The ``meta`` members a batch can leave out when no map reads them.
_OPTIONAL_META = frozenset({"rev", "flags", "expiration"})


class JsError(Exception):
    """A view function failed: it threw, did not compile, or exceeded a limit."""

    def __init__(self, reason: str, fatal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal

    @property
    def timed_out(self) -> bool:
        """Tell whether the call was interrupted by the CPU-time limit."""
        return self.fatal and "interrupted" in self.reason


def _first_line(exc: BaseException) -> str:
    """Return the first line of a QuickJS exception message (drops the JS stack trace)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_fatal(exc: BaseException) -> bool:
    """Tell whether a QuickJS failure leaves the context unusable (limit or stack overflow)."""
    return isinstance(exc, quickjs.StackOverflow) or _first_line(exc).startswith(_FATAL_MARKERS)


def check_function(source: str) -> None:
    """Compile ``source`` in a scratch context; raise JsError unless it is one JS function."""
    context = quickjs.Context()
    context.set_time_limit(DEFAULT_TIME_LIMIT)
    context.set_memory_limit(DEFAULT_MEMORY_LIMIT)
    try:
        kind = context.eval(f"typeof ({source}\n)")
    except quickjs.JSException as exc:
        raise JsError(_first_line(exc)) from None
    if kind != "function":
        raise JsError(f"expression evaluates to {kind}, not a function")


class JsRuntime:
    """The QuickJS context of one design document, bound to the thread that uses it."""

    def __init__(self, maps: Sequence[str], reduces: dict[int, str],
                 time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, cut_documents: bool = True) -> None:
        self._maps = list(maps)
        self._reduces = dict(reduces)
        self._time_limit = time_limit
        self._memory_limit = memory_limit
        names = read_members(self._maps) if cut_documents else None
        self._read_members = None if names is None else tuple(name.encode() for name in names)
        meta = read_meta(self._maps) if cut_documents else None
        self._full_meta = meta is None or not _OPTIONAL_META.isdisjoint(meta)
        self._context: quickjs.Context | None = None
        self._thread: int | None = None

    def fresh(self) -> "JsRuntime":
        """Return a runtime of the same functions, limits and read members with no context
        yet (for a worker; the analysis of the sources is not run again)."""
        twin = copy.copy(self)
        twin._context = twin._thread = None
        return twin

    @property
    def read_members(self) -> tuple[bytes, ...] | None:
        """Return the UTF-8 names of the only members the maps can read, or None for all.

        None also when the runtime was made with ``cut_documents=False`` (the reference
        behaviour, mapping whole documents).
        """
        return self._read_members

    @property
    def full_meta(self) -> bool:
        """Return True unless no map can read ``meta.rev``, ``meta.flags`` or
        ``meta.expiration`` (then a batch need not compute them; always True with
        ``cut_documents=False``, the reference behaviour)."""
        return self._full_meta

    def _ctx(self) -> quickjs.Context:
        """Return a live context for the calling thread, compiling the functions if needed."""
        if self._context is not None and self._thread == threading.get_ident():
            return self._context
        context = quickjs.Context()
        context.set_memory_limit(self._memory_limit)
        context.set_max_stack_size(_STACK_LIMIT)
        context.set_time_limit(self._time_limit)
        context.eval(PRELUDE)
        for source in self._maps:
            context.eval(f"__maps.push(({source}\n));")
        for view, source in self._reduces.items():
            context.eval(f"__reduces[{view}] = ({source}\n);")
        self._context, self._thread = context, threading.get_ident()
        return context

    def _discard(self, exc: BaseException) -> None:
        """Drop the context after memory exhaustion so the next call starts from a clean one."""
        log.warning("view JavaScript context reset after: %s", _first_line(exc))
        self._context = None

    def _call(self, name: str, *args: Any) -> str:
        """Call a prelude function; raise JsError (fatal for runaways) on failure."""
        try:
            return self._ctx().get(name)(*args)
        except (quickjs.JSException, quickjs.StackOverflow) as exc:
            fatal = _is_fatal(exc)
            if fatal and "interrupted" not in _first_line(exc):
                self._discard(exc)
            raise JsError(_first_line(exc), fatal) from None

    @property
    def view_count(self) -> int:
        """Return the number of map functions (views) of the design document."""
        return len(self._maps)

    def map_batch(self, texts: str, ids: str, seqnos: str, rev_hex: str, expirations: str,
                  flags: str, kinds: str, full_meta: bool = True) -> str:
        """Map a batch (see :mod:`.map_batch` for the format); return the text of its emits.
        Without ``full_meta``, ``meta`` holds only ``id`` and ``type``."""
        return self._call("__mapBatch", texts, ids, seqnos, rev_hex, expirations, flags, kinds,
                          full_meta)

    def progress(self) -> str | None:
        """Return what a batch that stopped had done (same format as its result), if readable."""
        if self._context is None:
            return None
        try:
            return self._context.eval("__state === null ? null : __result()")
        except (quickjs.JSException, quickjs.StackOverflow):
            self._context = None
            return None

    def reduce(self, view: int, keys: Any, values: list[Any], rereduce: bool) -> Any:
        """Run the JavaScript reduce of ``view`` once; raise JsError if it fails."""
        keys_json = json.dumps(keys, ensure_ascii=False)
        values_json = json.dumps(values, ensure_ascii=False)
        return json.loads(self._call("__reduce", view, keys_json, values_json, rereduce))[0]
