"""Fixtures of the client tests. ``cb`` is a connection to the session cbserver
(``server`` in tests/conftest.py): the real target of every key-value test. Routing
and failure tests build their own topologies from real memcached data nodes behind
a real streaming config server (tests/support/config_server.py), on free loopback ports."""
from __future__ import annotations

import itertools

import pytest

from support.config_server import NUM_VBUCKETS, ConfigServer, make_config
from support.memcached import Memcached
from couchbase import Couchbase


@pytest.fixture(scope="session")
def mc_node():
    node = Memcached()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def cluster(mc_node):
    """A one-node ``default`` bucket: config server + memcached."""
    server = ConfigServer(make_config("default", [mc_node.port], [[0]] * NUM_VBUCKETS, 1))
    yield server
    server.close()


@pytest.fixture
def cb(server):
    """A fresh connection to the ``default`` bucket of the session cbserver."""
    return Couchbase.connect(bucket="default", host=server.host, port=server.rest_port)


_counter = itertools.count()


@pytest.fixture
def key_prefix(request) -> str:
    """A prefix unique to the test, so tests sharing the session server never collide."""
    return f"{request.node.name}:{next(_counter)}:"
