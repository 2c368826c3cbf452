"""Helpers for the tests of cbserver's optional C extensions: what a fresh interpreter
chooses under an environment, whether a source compiles without warnings, and how much
memory a repeated piece of work leaves behind."""
from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import sysconfig
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest


def printed_in_child(code: str, **env: str) -> str:
    """What ``code`` prints in a fresh interpreter with ``env`` added to this one's,
    ``CBSERVER_PURE_PYTHON`` removed unless given."""
    child_env = {k: v for k, v in os.environ.items() if k != "CBSERVER_PURE_PYTHON"}
    child_env.update(env)
    done = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def assert_compiles_without_warnings(source: Path, out_dir: Path) -> None:
    """Compile ``source`` with gcc, every warning an error (skips where gcc is missing)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    include = sysconfig.get_paths()["include"]
    done = subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-c",
                           f"-I{include}", str(source), "-o", str(out_dir / "object.o")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def traced_growth(work: Callable[[], object], own_file: str, frames: int = 4) -> int:
    """Bytes allocated under ``own_file``'s frames (the calling test module) that each
    further run of ``work`` leaves behind: the smaller growth of two runs after a first,
    warm-up one. A leak grows on every run; a one-off allocation does not count, such as
    a finalizer of an earlier test's garbage that the collector happens to run inside
    this file's frames. Only that file's allocations count: other threads (servers of
    earlier tests winding down, their pagers) allocate meanwhile too. ``frames`` must
    reach from the allocation back to that file (a C call adds none). The largest
    growths of the counted run are printed, which pytest shows when the test fails."""
    own = [tracemalloc.Filter(True, own_file, all_frames=True)]
    gc.collect()
    tracemalloc.start(frames)
    try:
        snapshots = []
        for _ in range(3):
            work()
            gc.collect()
            snapshots.append(tracemalloc.take_snapshot().filter_traces(own))
    finally:
        tracemalloc.stop()
    growths = [later.compare_to(earlier, "traceback")
               for earlier, later in zip(snapshots, snapshots[1:])]
    counted = min(growths, key=lambda stats: sum(stat.size_diff for stat in stats))
    for stat in counted[:5]:
        print(stat.size_diff, "bytes at", *stat.traceback.format(), sep="\n  ")
    return sum(stat.size_diff for stat in counted)
