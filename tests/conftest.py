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

import os
import shutil
import socket
import subprocess
import time

import pytest

from cbserver.embedded import EmbeddedServer

ADMIN = ("Administrator", "password")


@pytest.fixture(scope="session")
def server():
    """A cbserver with buckets default and protected:secret on free ports."""
    with EmbeddedServer(buckets=("default", "protected:secret"), admin=ADMIN) as srv:
        yield srv


@pytest.fixture
def server_factory():
    """Start cbservers with custom options; each is stopped when the test ends."""
    started: list[EmbeddedServer] = []

    def start(**kwargs) -> EmbeddedServer:
        kwargs.setdefault("admin", ADMIN)
        srv = EmbeddedServer(**kwargs).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def memcached():
    """Port of a memcached 1.6 reference server listening on 127.0.0.1."""
    binary = shutil.which("memcached") or "/usr/bin/memcached"
    if not os.path.exists(binary):
        pytest.skip("memcached is not installed (Debian package memcached; make test installs it)")
    for _ in range(5):
        port = _free_port()
        args = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "128", "-I", "20m"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        proc = subprocess.Popen(args,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        pytest.fail(f"memcached did not start: {proc.stderr.read().decode(errors='replace')}")
    yield port
    proc.terminate()
    proc.wait(10)
