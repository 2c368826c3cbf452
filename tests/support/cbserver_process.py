"""cbserver run as a child process (``python -m cbserver``) on free ports, for crash tests."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from couchbase.protocol import Opcode, Status, encode_request

from support.rawkv import KV

_PORTS = re.compile(r"rest port (\d+), kv port (\d+), views port (\d+)")


class CbserverProcess:
    """A child cbserver persisting to ``data_dir``, its log appended to ``log_path``."""

    def __init__(self, data_dir: Path, log_path: Path, *extra: str) -> None:
        self.log = open(log_path, "ab")
        command = [sys.executable, "-m", "cbserver", "--data-dir", str(data_dir),
                   "--rest-port", "0", "--kv-port", "0", "--views-port", "0",
                   "--bucket", "default", *extra]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        match = _PORTS.search(line)
        if match is None:
            self.proc.kill()
            self.proc.wait()
            self.log.close()
            raise RuntimeError(f"cbserver did not start: {line!r}; see {log_path}")
        self.rest_port, self.kv_port, self.views_port = map(int, match.groups())

    def wait_warm(self, timeout: float = 60.0) -> KV:
        """Return a KV connection once data operations stop answering ETMPFAIL."""
        kv = KV(self.kv_port)
        deadline = time.monotonic() + timeout
        while kv.call([encode_request(Opcode.GET, b"warmup-probe")])[0].status == Status.ETMPFAIL:
            if time.monotonic() > deadline:
                raise TimeoutError("cbserver stayed in warmup")
            time.sleep(0.05)
        return kv

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def terminate(self, sig: int = signal.SIGTERM) -> int:
        """Ask for a clean shutdown and return the exit code."""
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.log.close()
        return code

    def __del__(self) -> None:
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
