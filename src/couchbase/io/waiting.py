"""Sync driver of the pipeline generators: wait with poll(2) until a deadline."""
from __future__ import annotations

import select
import time
from collections.abc import Generator

from .pipeline import READ, WRITE, Ready, Waits

_POLL_IN = select.POLLIN | select.POLLPRI
_POLL_ERR = select.POLLERR | select.POLLHUP | select.POLLNVAL


def drive(gen: Generator[Waits, Ready, None], deadline: float) -> bool:
    """Run ``gen`` to completion; False if ``deadline`` passed first (gen closed)."""
    try:
        waits = next(gen)
        while True:
            ready = _wait(waits, deadline)
            if ready is None:
                gen.close()
                return False
            waits = gen.send(ready)
    except StopIteration:
        return True


def _wait(waits: Waits, deadline: float) -> Ready | None:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        poller = select.poll()
        for fd, events in waits:
            poller.register(fd, (_POLL_IN if events & READ else 0)
                            | (select.POLLOUT if events & WRITE else 0))
        found = poller.poll(left * 1000.0 + 1)
        if found:
            ready = {}
            for fd, ev in found:
                mask = 0
                if ev & (_POLL_IN | _POLL_ERR):
                    mask |= READ
                if ev & (select.POLLOUT | _POLL_ERR):
                    mask |= WRITE
                ready[fd] = mask
            return ready
