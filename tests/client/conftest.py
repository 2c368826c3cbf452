"""Fixtures of the client tests. ``cb`` is a connection to the session cbserver
(``server`` in tests/conftest.py): the real target of every key-value test. Routing
and failure tests build their own topologies from real memcached data nodes behind
a real streaming config server (tests/client/config_server.py), on free loopback ports."""
from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time

import pytest

from config_server import ConfigServer, make_config
from couchbase import Couchbase

NUM_VBUCKETS = 64


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Memcached:
    """A memcached process speaking the binary protocol on a free port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("memcached")
        if binary is None:
            pytest.skip("memcached is not installed")
        self.proc = subprocess.Popen([binary, "-U", "0", "-l", "127.0.0.1", "-p", str(self.port),
                                      "-u", "root", "-t", "1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"memcached did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


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
