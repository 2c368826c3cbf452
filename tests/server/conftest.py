"""Fixtures of the server tests: raw binary-protocol connections to the shared server."""
from __future__ import annotations

import pytest

from cbserver.embedded import EmbeddedServer
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
