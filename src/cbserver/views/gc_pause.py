"""Pausing Python's cyclic garbage collector while an index is built or restored.

A full build allocates millions of small lists and tuples that are never cyclic; every
allocation burst triggers collections that walk the whole heap, which costs a build
about a third of its time.  Pausing the collector for the build avoids that; the
objects are collected as usual afterwards.
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
