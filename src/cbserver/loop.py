"""Event-loop selection: uvloop when installed, the standard asyncio loop otherwise."""
from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A fresh event loop, uvloop's if it can be imported (it is much faster)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
