"""Memory figures of the running process, read from ``/proc/self/statm`` (Linux)."""
from __future__ import annotations

import os
from typing import NamedTuple

_PAGE = os.sysconf("SC_PAGE_SIZE")


class ProcessMemory(NamedTuple):
    """Virtual size, resident set and resident shared pages of this process, in bytes."""

    virtual: int
    resident: int
    shared: int


def process_memory() -> ProcessMemory:
    """Return the process's memory now; zeros where ``/proc`` is not available."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            size, resident, shared = handle.read().split()[:3]
    except (OSError, ValueError):
        return ProcessMemory(0, 0, 0)
    return ProcessMemory(int(size) * _PAGE, int(resident) * _PAGE, int(shared) * _PAGE)
