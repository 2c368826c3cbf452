"""Routing and failure handling: configs pushed over the stream re-route keys, a
silent node gives TimeoutError, a restarted node is reconnected on the next op."""
import socket
import time

import bmemcached
import pytest

from support.config_server import ConfigServer, make_config
from support.memcached import Memcached
from couchbase import Couchbase
from couchbase.exceptions import NetworkError, NotFoundError, TimeoutError
from couchbase.protocol import vbucket_for_key


@pytest.fixture
def two_nodes():
    nodes = [Memcached(), Memcached()]
    yield nodes
    for node in nodes:
        node.stop()


def _wait_for_rev(cb, rev):
    deadline = time.monotonic() + 10
    while cb._router.config.rev < rev:
        assert time.monotonic() < deadline, "config was not applied"
        time.sleep(0.01)


def test_keys_are_routed_by_vbucket(two_nodes):
    ports = [n.port for n in two_nodes]
    vbmap = [[i % 2] for i in range(64)]
    server = ConfigServer(make_config("default", ports, vbmap, 1))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=server.port)
        keys = [f"route-{i}" for i in range(40)]
        cb.set_multi({k: k for k in keys})
        direct = [bmemcached.Client([f"127.0.0.1:{p}"]) for p in ports]
        for key in keys:
            owner = vbucket_for_key(key.encode(), 64) % 2
            assert direct[owner].get(key) is not None
            assert direct[1 - owner].get(key) is None
    finally:
        server.close()


def test_new_config_from_the_stream_reroutes(two_nodes):
    a, b = (n.port for n in two_nodes)
    server = ConfigServer(make_config("default", [a, b], [[0]] * 64, 1))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=server.port)
        cb.set("moving", "on a")
        server.push(make_config("default", [a, b], [[1]] * 64, 2))
        _wait_for_rev(cb, 2)
        with pytest.raises(NotFoundError):
            cb.get("moving")
        cb.set("moving", "on b")
        assert bmemcached.Client([f"127.0.0.1:{b}"]).get("moving") == '"on b"'
        assert cb.server_nodes
    finally:
        server.close()


def test_silent_node_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    server = ConfigServer(make_config("default", [listener.getsockname()[1]], [[0]] * 4, 1))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=server.port, timeout=0.3)
        with pytest.raises(TimeoutError):
            cb.get("never-answered")
        with pytest.raises(TimeoutError):
            cb.get_multi(["a", "b", "c"])
    finally:
        server.close()
        listener.close()


def test_restarted_node_is_reconnected():
    node = Memcached()
    server = ConfigServer(make_config("default", [node.port], [[0]] * 4, 1))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=server.port)
        cb.set("before-restart", 1)
        node.stop()
        with pytest.raises(NetworkError):
            cb.get("before-restart")
        node.start()
        assert cb.set("after-restart", 2).success
        assert cb.get("after-restart").value == 2
    finally:
        server.close()
        node.stop()
