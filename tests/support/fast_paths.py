"""The KV fast path's two implementations, for tests that must pass with each of them."""
from __future__ import annotations

import pytest

from cbserver.kv import fast_path

#: Test ids of the implementations: the C extension and the pure-Python reference.
IMPLEMENTATIONS = ("c", "python")


def serve_fast_of(name: str) -> fast_path.ServeFast:
    """The ``serve_fast`` of implementation ``name``, whatever the environment selected;
    skips when the C extension was not built (test_kv_fast_path_build fails for that)."""
    if name == "python":
        return fast_path.serve_fast_python
    accelerated = fast_path.load_c_serve_fast()
    if accelerated is None:
        pytest.skip("the C extension cbserver.kv._fast_path was not built")
    return accelerated
