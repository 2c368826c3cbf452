"""Running test workers in threads: every exception reaches the test, a hang fails it."""
from __future__ import annotations

import threading
from collections.abc import Callable


def run_threads(target: Callable[[int], None], count: int, timeout: float = 60.0) -> None:
    """Run ``target(n)`` for n in range(count), each in its own thread, and wait for all;
    re-raise the first exception a worker raised."""
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    if errors:
        raise errors[0]
