"""A text progress bar for loading samples from the command line."""

from __future__ import annotations

import sys
from typing import Callable, TextIO

BAR_WIDTH = 30


def progress_printer(name: str, stream: TextIO | None = None) -> Callable[[int, int], None]:
    """Return a progress(done, total) callback that redraws one line on `stream` (stderr)."""
    out = stream or sys.stderr

    def progress(done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        out.write(f"\rloading {name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                  f"{done}/{total}")
        if done >= total:
            out.write("\n")
        out.flush()

    return progress
