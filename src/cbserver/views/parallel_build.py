"""Full index builds split over threads, each with a QuickJS context of its own.

QuickJS (``quickjs-ng``) lets go of the interpreter lock for the whole of a JavaScript
call, so while one thread's batch runs in QuickJS, another thread prepares, decodes and
collates its own batch: the map work, most of a build, runs on two cores at once.  The
calling thread builds the first slice in the runtime's own context; every other slice
gets a thread and a :meth:`~.js.JsRuntime.fresh` twin of the runtime (same functions,
limits and read members; a QuickJS context is used by one thread only).  The slices
share the bucket's records in memory, so nothing is copied, serialised or forked, and
every slice runs the same :func:`.build_part.build_part` as the serial build: rows,
order and errors are identical by construction.

QuickJS measures its time limit in CPU time of the whole process (``clock()``), so while
several slices run JavaScript at once, each call's budget runs down faster than the wall
clock: a runaway map is stopped sooner, never later.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from ..engine.item import Record
from .build_part import Part, build_part
from .js import JsRuntime

#: Smallest number of records whose full build is split over threads (one map batch).
PARALLEL_MIN_DOCS = 2_000
#: Slices (threads, the caller's included) of one build, never more than the CPUs.
WORKERS = min(2, os.cpu_count() or 1)


def parallel_build(runtime: JsRuntime, records: Sequence[tuple[bytes, Record]], now: float,
                   workers: int = WORKERS) -> Part:
    """Build the rows and errors of ``records`` live at ``now`` in ``workers`` slices at
    once; merge them into the part the serial build would give."""
    bounds = [len(records) * i // workers for i in range(workers + 1)]
    slices = list(zip(bounds, bounds[1:]))
    with ThreadPoolExecutor(max_workers=workers - 1,
                            thread_name_prefix="cbserver-view-build") as threads:
        others = [threads.submit(build_part, runtime.fresh(), records, now, start, stop)
                  for start, stop in slices[1:]]
        first = build_part(runtime, records, now, *slices[0])
        parts = [first] + [future.result() for future in others]
    rows: list[list] = [[] for _ in range(runtime.view_count)]
    errors: list[list] = []
    for part_rows, part_errors in parts:
        for merged, part in zip(rows, part_rows):
            merged.extend(part)
        errors.extend(part_errors)
    for merged in rows:
        merged.sort()
    return rows, errors
