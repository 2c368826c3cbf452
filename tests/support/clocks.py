"""A settable clock for the engine, so lock and expiry tests need not sleep."""
from __future__ import annotations

import time


class ManualClock:
    """Starts at the real time and moves only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def install_clock(srv, bucket: str = "default") -> ManualClock:
    """Give ``bucket`` of an embedded server a manual clock (set on the server's loop)."""
    clock = ManualClock()
    srv.call(setattr, srv.server.buckets[bucket], "clock", clock)
    return clock
