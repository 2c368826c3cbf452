"""Start memcached and cbserver as pinned child processes and run memcaslap against them.

Shared by the server benchmarks. On a machine with two or more cores the server under
test is pinned to the last core and every load generator to the first, so the server
owns one core and the generator another, the same for both servers.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MEMCACHED = "/usr/bin/memcached"
MEMCASLAP = shutil.which("memcaslap") or shutil.which("memaslap") or "/usr/bin/memcaslap"
#: Value size of every benchmark (issue 2: 300-byte values).
VALUE_SIZE = 300
#: Key length memcaslap generates.
KEY_SIZE = 16
_TPS = re.compile(rb"TPS:\s*(\d+)")
_KV_PORT = re.compile(r"kv port (\d+)")
_CPUS = sorted(os.sched_getaffinity(0))
#: Core of the server under test, and the cores left to the load generator.
SERVER_CPUS = {_CPUS[-1]}
LOAD_CPUS = set(_CPUS[:-1]) or SERVER_CPUS


@dataclass(frozen=True)
class Target:
    """A running server under test: its name, KV address and process id."""

    name: str
    host: str
    port: int
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pin(cpus: set[int]):
    def apply() -> None:
        os.sched_setaffinity(0, cpus)
    return apply


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} during start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def memcached() -> Iterator[Target]:
    """memcached 1.6 with its default threads and 1 GiB of memory on a free port."""
    port = free_port()
    args = [MEMCACHED, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "1024", "-c", "4096"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_pin(SERVER_CPUS))
    try:
        _wait_for_port(port, proc, "memcached")
        yield Target("memcached", "127.0.0.1", port, proc.pid)
    finally:
        _stop(proc)


@contextlib.contextmanager
def cbserver(vbuckets: int = 1, data_dir: str | None = None) -> Iterator[Target]:
    """``python -m cbserver --ephemeral`` with a ``default`` bucket on free ports, or
    persisting to ``data_dir`` when one is given.

    memcaslap (like the pipelined generator) sends vBucket 0 for every key, so the
    benchmark bucket has one vBucket (``--vbuckets 1``): every key then really belongs
    to vBucket 0, and no request may be answered NOT_MY_VBUCKET.
    """
    storage = ["--data-dir", data_dir] if data_dir is not None else ["--ephemeral"]
    args = [sys.executable, "-m", "cbserver", *storage, "--vbuckets", str(vbuckets),
            "--bucket", "default", "--rest-port", "0", "--kv-port", "0", "--views-port", "0",
            "--log-level", "WARNING"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=_pin(SERVER_CPUS))
    try:
        line = proc.stdout.readline()
        match = _KV_PORT.search(line)
        if match is None:
            raise RuntimeError(f"cbserver did not report its ports (said {line!r})")
        port = int(match.group(1))
        _wait_for_port(port, proc, "cbserver")
        yield Target("cbserver", "127.0.0.1", port, proc.pid)
    finally:
        _stop(proc)
        proc.stdout.close()


def memcaslap(target: Target, concurrency: int, seconds: float) -> float:
    """ops/s of memcaslap (binary protocol, 300-byte values, 1:1 get/set, one thread)."""
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as cfg:
        cfg.write(f"key\n{KEY_SIZE} {KEY_SIZE} 1\nvalue\n{VALUE_SIZE} {VALUE_SIZE} 1\n"
                  "cmd\n0 0.5\n1 0.5\n")
    try:
        args = [MEMCASLAP, "-s", f"{target.host}:{target.port}", "-B", "-F", cfg.name,
                "-T", "1", "-c", str(concurrency), "-t", f"{max(1, round(seconds))}s"]
        done = subprocess.run(args, capture_output=True, timeout=seconds + 60,
                              preexec_fn=_pin(LOAD_CPUS))
    finally:
        os.unlink(cfg.name)
    match = _TPS.search(done.stdout)
    if match is None:
        raise RuntimeError(f"memcaslap against {target.name} printed no TPS "
                           f"(exit {done.returncode}): {done.stderr[-300:]!r}")
    return float(match.group(1))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process ``pid`` has used so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    """Best throughput and least server CPU per operation seen over the rounds of a run."""

    ops: float = 0.0
    cpu_us_per_op: float = float("inf")

    def measure(self, target: Target, run: Callable[[], float]) -> None:
        """Call ``run`` (it returns ops/s) and keep its figures if they are the best."""
        cpu = cpu_seconds(target.pid)
        start = time.perf_counter()
        rate = run()
        elapsed = time.perf_counter() - start
        used = cpu_seconds(target.pid) - cpu
        self.ops = max(self.ops, rate)
        if rate > 0:
            self.cpu_us_per_op = min(self.cpu_us_per_op, used / (rate * elapsed) * 1e6)


def rss_kib(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS line in /proc/{pid}/status")


@contextlib.contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """Run this process on ``cpus`` for the duration (the in-process load generator)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def ratio_line(label: str, ours: Figures, theirs: Figures, target: float | None = None) -> str:
    """One result line: both servers' ops/s, the cbserver/memcached ratio (and its goal),
    and the server CPU per operation, which shows whether the load generator was the
    limit (a server that is not busy did not set the pace)."""
    goal = f" (goal {target:.1f}x)" if target is not None else ""
    return (f"{label:30} cbserver {ours.ops:9.0f}  memcached {theirs.ops:9.0f}  "
            f"ratio {ours.ops / theirs.ops:5.2f}x{goal}  server CPU/op "
            f"{ours.cpu_us_per_op:5.1f} vs {theirs.cpu_us_per_op:5.1f} us")
