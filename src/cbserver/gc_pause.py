"""Pausing Python's cyclic garbage collector during bulk work that makes no cycles.

A view index build or restore, and a fold of the commit log into SQLite, allocate
millions of small lists and tuples that are never cyclic; every allocation burst
triggers collections that walk the whole heap (about a third of a view build's time,
~740 instructions per folded write).  Pausing the collector for the block avoids that;
the objects are collected as usual afterwards.  One counter for the whole process, so
pauses on several threads (a fold beside a build) nest correctly.
"""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable automatic collection inside the block (nesting and threads safe)."""
    global _depth
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
                if _depth == 0:
                    gc.enable()
