"""Full index builds split over forked worker processes that share the documents.

The records are already in the server's memory, so ``os.fork`` hands each worker its
slice by copy-on-write at no transfer cost.  Each worker maps its slice in a QuickJS
context of its own (same time and memory limits), collates and sorts the rows, and
sends them back through a pipe as one ``marshal`` string; the parent merges the sorted
runs.  A worker only touches the snapshot and QuickJS and leaves with ``os._exit``: it
never runs the event loop, never takes a lock another thread may hold and never logs.
Any worker failure (crash, bad exit status, unreadable answer, timeout) makes the
caller fall back to the in-process build.
"""
from __future__ import annotations

import marshal
import os
import selectors
import signal
import time
import traceback
from typing import Callable, Sequence

from .build_part import Part, build_part
from .js import JsRuntime
from ..engine.item import Record

#: Smallest number of records whose full build is split over workers.
PARALLEL_MIN_DOCS = 5_000
#: Worker processes of one build (never more than the CPUs).
WORKERS = 2
#: Seconds a worker may take before the build falls back to the in-process path.
WORKER_TIMEOUT = 600.0
_READ_SIZE = 1 << 20

#: What a worker runs: (runtime, records, now, start, stop) -> the part of
#: ``records[start:stop]``.
Work = Callable[[JsRuntime, Sequence[tuple[bytes, Record]], float, int, int], Part]


class WorkerFailed(Exception):
    """A build worker crashed, exited with an error, timed out or answered garbage."""


def can_fork() -> bool:
    """Tell whether this platform and machine can split a build over worker processes."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def _run_child(write_fd: int, runtime: JsRuntime, records: Sequence[tuple[bytes, Record]],
               now: float, start: int, stop: int, work: Work) -> None:
    """In the forked worker: build its part, write it to the pipe and exit without cleanup."""
    status = 1
    try:
        payload = memoryview(marshal.dumps(work(runtime.fresh(), records, now, start, stop)))
        while payload:
            payload = payload[os.write(write_fd, payload):]
        os.close(write_fd)  # the parent sees the end now, not after this process is torn down
        status = 0
    except BaseException:  # noqa: BLE001 - anything a worker hits is reported by its status
        os.write(2, f"cbserver view build worker {os.getpid()} failed:\n"
                    f"{traceback.format_exc()}".encode("utf-8", "replace"))
    finally:
        os._exit(status)


def _spawn(runtime: JsRuntime, records: Sequence[tuple[bytes, Record]], now: float,
           start: int, stop: int, work: Work) -> tuple[int, int]:
    """Fork one worker for ``records[start:stop]``; return its pid and the read end of its pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _run_child(write_fd, runtime, records, now, start, stop, work)
    os.close(write_fd)
    return pid, read_fd


def _read_all(workers: list[tuple[int, int]], timeout: float) -> dict[int, bytes]:
    """Read every worker's pipe to its end at the same time; return the bytes per pid."""
    chunks: dict[int, list[bytes]] = {pid: [] for pid, _ in workers}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for pid, fd in workers:
            selector.register(fd, selectors.EVENT_READ, pid)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerFailed(f"no answer within {timeout:.0f} s")
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _READ_SIZE)
                if chunk:
                    chunks[key.data].append(chunk)
                else:
                    selector.unregister(key.fd)
    return {pid: b"".join(parts) for pid, parts in chunks.items()}


def _reap(pid: int, kill: bool) -> int | None:
    """Wait for a worker (killing it first if asked); return its exit code if known."""
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status)


def parallel_build(runtime: JsRuntime, records: Sequence[tuple[bytes, Record]], now: float,
                   workers: int = WORKERS, timeout: float = WORKER_TIMEOUT,
                   work: Work = build_part) -> Part:
    """Build the rows and errors of ``records`` in ``workers`` forked processes; merge them.

    Raises WorkerFailed (after every worker is reaped) if any worker did not deliver.
    """
    bounds = [len(records) * i // workers for i in range(workers + 1)]
    spawned: list[tuple[int, int]] = []
    answers: dict[int, bytes] = {}
    part: Part = ([], [])
    failure: WorkerFailed | None = None
    try:
        for start, stop in zip(bounds, bounds[1:]):
            spawned.append(_spawn(runtime, records, now, start, stop, work))
        answers = _read_all(spawned, timeout)
        try:
            part = _merge(spawned, answers, runtime.view_count)
        except WorkerFailed as exc:
            failure = exc
    finally:
        for _, fd in spawned:
            os.close(fd)
        codes = {pid: _reap(pid, kill=pid not in answers) for pid, _ in spawned}
    for pid, _ in spawned:
        if codes[pid] not in (0, None):
            raise WorkerFailed(f"worker {pid} exited with status {codes[pid]}")
    if failure is not None:
        raise failure
    return part


def _merge(spawned: list[tuple[int, int]], answers: dict[int, bytes], views: int) -> Part:
    """Parse every worker's answer and merge the parts into sorted rows per view (done
    while the workers' processes are still being torn down); raises WorkerFailed."""
    rows: list[list] = [[] for _ in range(views)]
    errors: list[list] = []
    for pid, _ in spawned:
        try:
            part_rows, part_errors = marshal.loads(answers[pid])
        except (EOFError, ValueError, TypeError) as exc:
            raise WorkerFailed(f"worker {pid} sent an unreadable answer: {exc}") from None
        if len(part_rows) != views:
            raise WorkerFailed(f"worker {pid} sent {len(part_rows)} views, not {views}")
        for merged, part in zip(rows, part_rows):
            merged.extend(part)
        errors.extend(part_errors)
    for merged in rows:
        merged.sort()
    return rows, errors
