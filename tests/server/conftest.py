"""Fixtures of the server tests: raw binary-protocol connections to the shared server."""
from __future__ import annotations

import pytest

from cbserver.embedded import EmbeddedServer
from cbserver.kv import connection
from support import fast_paths
from support.rawkv import KV


@pytest.fixture
def kv(server):
    """A fresh KV connection to the shared server's default bucket."""
    with KV(server.kv_port) as conn:
        yield conn


@pytest.fixture(scope="module")
def server_factory_once():
    """A server of the module's own (fuzz tests may flush or delete its buckets)."""
    with EmbeddedServer(buckets=("default", "protected:secret"),
                        admin=("Administrator", "password")) as srv:
        yield srv


@pytest.fixture(params=fast_paths.IMPLEMENTATIONS)
def fast_path_implementation(request, monkeypatch):
    """Run the test once with each KV fast path (C and Python) serving the connections."""
    serve_fast = fast_paths.serve_fast_of(request.param)
    monkeypatch.setattr(connection, "serve_fast", serve_fast)
    return serve_fast
