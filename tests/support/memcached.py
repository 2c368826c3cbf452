"""A real memcached 1.6 (Debian's package) on a free loopback port, the reference server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from .ports import free_port


class Memcached:
    """A memcached process speaking the binary protocol; ``stop()``/``start()`` restart it
    on the same port. Skips the test when the binary is missing."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("memcached") or "/usr/bin/memcached"
        if not os.path.exists(binary):
            pytest.skip("memcached is not installed (Debian package memcached; "
                        "make test installs it)")
        self.binary = binary
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """Start the process and wait until it accepts connections."""
        args = [self.binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "128",
                "-I", "20m", "-t", "1"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        error = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() else ""
        self.stop()
        raise RuntimeError(f"memcached did not start on port {self.port}: {error}")

    def stop(self) -> None:
        """Terminate the process (a no-op when it is not running)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
