"""A small pool of 1.0 client connections, one per request in flight.

A 1.0 ``Connection`` refuses to be used by two threads at once (LOCKMODE_EXC), and
Flask serves requests on many threads, so each request borrows a connection of its
own and gives it back when it ends.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)


class ConnectionPool:
    """Lends connections made by `factory`; keeps at most `max_idle` idle ones."""

    def __init__(self, factory: Callable[[], Any], max_idle: int = 8) -> None:
        """Remember how to make a connection; none is made until one is needed."""
        self._factory = factory
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue(maxsize=max_idle)
        self._lock = threading.Lock()
        self._made = 0

    def acquire(self) -> Any:
        """Return an idle connection, or a new one when none is idle."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            connection = self._factory()
            with self._lock:
                self._made += 1
            log.debug("opened database connection #%d", self._made)
            return connection

    def release(self, connection: Any, broken: bool = False) -> None:
        """Take a connection back; a broken one, or one too many, is dropped."""
        if broken:
            log.info("dropping a database connection after a network error")
            return
        try:
            self._idle.put_nowait(connection)
        except queue.Full:
            log.debug("pool full; dropping a database connection")

    @property
    def connections_made(self) -> int:
        """How many connections the pool has opened so far."""
        return self._made
