"""Shared fixtures: cbserver started in-process on free ports, and a real memcached.

* ``server`` (session): an :class:`~cbserver.embedded.EmbeddedServer` with buckets
  ``default`` (no password) and ``protected`` (password ``secret``), admin
  ``Administrator:password``; read ``.host .rest_port .kv_port .views_port .server``.
  Tests sharing it must use keys no other test uses.
* ``server_factory`` (function): ``server_factory(**EmbeddedServer kwargs)`` returns a
  started server of your own, stopped at teardown.
* ``memcached`` (session): the port of Debian's ``/usr/bin/memcached`` started on
  127.0.0.1; skipped with the reason when the binary is missing.
"""
from __future__ import annotations


import pytest

from cbserver.embedded import EmbeddedServer
from support.memcached import Memcached

ADMIN = ("Administrator", "password")


@pytest.fixture(scope="session")
def server():
    """A cbserver with buckets default and protected:secret on free ports."""
    with EmbeddedServer(buckets=("default", "protected:secret"), admin=ADMIN) as srv:
        yield srv


@pytest.fixture
def server_factory():
    """Start cbservers with custom options, warmed up; each is stopped when the test ends."""
    started: list[EmbeddedServer] = []

    def start(**kwargs) -> EmbeddedServer:
        kwargs.setdefault("admin", ADMIN)
        srv = EmbeddedServer(**kwargs).start()
        started.append(srv)
        return srv.wait_warm()

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture(scope="session")
def memcached():
    """Port of a memcached 1.6 reference server listening on 127.0.0.1."""
    node = Memcached()
    yield node.port
    node.stop()
