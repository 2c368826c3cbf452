"""The switch that makes cbserver use the Python reference (or, for the log checksum,
``zlib``) of every optional C extension: ``CBSERVER_PURE_PYTHON`` set to anything but
empty or ``0``, read when each module is imported."""
from __future__ import annotations

import os

#: The environment variable that asks for the pure-Python implementations.
PURE_PYTHON_ENV = "CBSERVER_PURE_PYTHON"


def pure_python_requested() -> bool:
    """Tell whether the environment asks for the pure-Python implementations."""
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")
