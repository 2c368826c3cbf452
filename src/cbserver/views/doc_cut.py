"""The document cutter of the map batches: the C ``cut`` when built and allowed, else none.

:func:`cbserver.views._json_cut.cut` turns each JSON object into the text of only the
members the map functions read (see its module comment for the exact rules), so QuickJS
parses a fraction of every document. Without the extension, or with
``CBSERVER_PURE_PYTHON`` set, :data:`CUT` is None and documents are mapped whole, the
reference behaviour: a Python cutter would cost more than the parse it saves.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ..pure_python import pure_python_requested

log = logging.getLogger(__name__)

#: ``cut(values, names)``: each value cut down to the named members, or itself.
Cut = Callable[[Sequence[bytes], tuple[bytes, ...]], list[bytes]]


def load_c_cut() -> Cut | None:
    """Return the C ``cut``, or None when the extension was not built."""
    try:
        from . import _json_cut
    except ImportError as exc:
        log.debug("view document cut: C extension unavailable (%s)", exc)
        return None
    return _json_cut.cut


def _select() -> Cut | None:
    """Return the cutter to use: the C one unless it is missing or CBSERVER_PURE_PYTHON is set."""
    if pure_python_requested():
        log.debug("view document cut: off (CBSERVER_PURE_PYTHON is set)")
        return None
    return load_c_cut()


CUT = _select()
