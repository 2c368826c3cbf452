"""Pausing Python's cyclic garbage collector during bulk work that makes no cycles.

A view index build or restore, and a fold of the commit log into SQLite, allocate
millions of small lists and tuples that are never cyclic; every allocation burst
triggers collections that walk the whole heap (about a third of a view build's time,
~740 instructions per folded write).  Pausing the collector for the block avoids that;
the objects are collected as usual afterwards.  One counter for the whole process, so
pauses on several threads (a fold beside a build) nest correctly.

A full index build leaves tens of thousands of long-lived objects (its rows) in the
youngest generation; when collection resumes they tip the full-collection heuristic,
and the next allocation pays a full collection of the whole heap (~30 ms after the
beer-sample build, on the thread that happens to allocate).  A pause asked with
``promote=True`` ends by moving every survivor straight to the oldest generation
(``gc.freeze()`` then ``gc.unfreeze()``), unscanned: they are collected with it in a
later full collection, as long-lived objects are anyway.
"""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_promote = False


@contextlib.contextmanager
def gc_paused(promote: bool = False) -> Iterator[None]:
    """Disable automatic collection inside the block (nesting and threads safe); with
    ``promote``, the pause's survivors go to the oldest generation when it ends."""
    global _depth, _promote
    with _lock:
        if _depth == 0 and not gc.isenabled():
            paused_by_us = False
        else:
            paused_by_us = True
            _depth += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_by_us:
            with _lock:
                _depth -= 1
                _promote = _promote or promote
                if _depth == 0:
                    if _promote:
                        gc.freeze()
                        gc.unfreeze()
                        _promote = False
                    gc.enable()
