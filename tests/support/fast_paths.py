"""The KV fast path's two implementations, for tests that must pass with each of them."""
from __future__ import annotations

import pytest

from cbserver.kv import fast_path

#: Test ids of the implementations: the C extension and the pure-Python reference.
IMPLEMENTATIONS = ("c", "python")


def _c_fast_path() -> tuple[fast_path.ServeFast, fast_path.FastBucket]:
    """The C functions; skips when the extension was not built (test_kv_fast_path_build
    fails for that)."""
    accelerated = fast_path.load_c_fast_path()
    if accelerated is None:
        pytest.skip("the C extension cbserver.kv._fast_path was not built")
    return accelerated


def serve_fast_of(name: str) -> fast_path.ServeFast:
    """The ``serve_fast`` of implementation ``name``, whatever the environment selected."""
    return fast_path.serve_fast_python if name == "python" else _c_fast_path()[0]


def fast_bucket_of(name: str) -> fast_path.FastBucket:
    """The ``fast_bucket`` of implementation ``name``, whatever the environment selected."""
    return fast_path.fast_bucket_python if name == "python" else _c_fast_path()[1]
