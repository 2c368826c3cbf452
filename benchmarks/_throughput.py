"""Throughput of a callable run by one or more threads for a bounded time.

Standard library only: imported by the benchmark driver (project venv) and by the SDK 4
workload script (``.venv-sdk4``), so both clients are timed by the same code.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

#: Calls each thread makes before the clock starts (connections, caches, JIT-free warm-up).
WARMUP_CALLS = 20


def rate(workers: Sequence[Callable[[], object]], seconds: float, per_call: int = 1) -> float:
    """Units per second of ``workers`` (one thread each) calling their function until the
    deadline; ``per_call`` is the number of units (ops or keys) one call handles."""
    for work in workers:
        for _ in range(WARMUP_CALLS):
            work()
    counts = [0] * len(workers)
    start_line = threading.Barrier(len(workers) + 1)
    deadline = [0.0]

    def loop(index: int, work: Callable[[], object]) -> None:
        start_line.wait()
        calls = 0
        end = deadline[0]
        while True:
            for _ in range(10):
                work()
            calls += 10
            if time.perf_counter() >= end:
                break
        counts[index] = calls

    threads = [threading.Thread(target=loop, args=(i, w), daemon=True)
               for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start_line.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(counts) * per_call / elapsed


def best_rate(workers: Sequence[Callable[[], object]], seconds: float, per_call: int = 1,
              rounds: int = 3) -> float:
    """The highest of ``rounds`` timings of ``seconds`` each: noise from other processes on
    the machine only ever lowers a figure, so the best round is the least disturbed one."""
    return max(rate(workers, seconds, per_call) for _ in range(rounds))
