"""Instructions per KV request on cbserver's receive path, counted by Callgrind.

Timings on a shared two-core VM swing by tens of percent; instruction counts do not. This
script feeds the request windows of :mod:`benchmarks._pipelined_load` (1:1 SET/GET of
the same key, 300-byte values, every GET a hit) straight into
``KVProtocol.data_received`` of an in-process server, with a transport whose ``write``
is a C-level sink, and counts the instructions of the whole process under
``valgrind --tool=callgrind``. Two runs that differ only in the number of requests fed
are subtracted, so interpreter start-up, imports and warm-up cancel out.

Modes: ``pipelined`` hands each read a window of 64 requests; ``unpipelined`` hands each
read a single request (what memcaslap's one-in-flight connections produce), so per-read
costs show up once per request.

Run: ``python -m benchmarks.kv_instructions`` (needs Debian's ``valgrind``; about a
minute and a half; ``CBSERVER_PURE_PYTHON=1`` counts the Python fast path instead of
the C one). ``--mode`` picks one mode, ``--requests`` the extra requests of the
longer run.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from couchbase.protocol import HEADER_LEN

from ._pipelined_load import _windows

WINDOW = 64
KEYS = 2000
VALUE_SIZE = 300
#: Requests of the shorter run; the longer one feeds ``--requests`` more.
BASE_REQUESTS = 4096
EXTRA_REQUESTS = 16384
MODES = ("pipelined", "unpipelined")
_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


class _SinkTransport:
    """The least a KVProtocol needs of a transport; replies go to a C-level sink so the
    count holds the server's instructions only."""

    __slots__ = ("write", "closed")

    def __init__(self) -> None:
        self.write = collections.deque(maxlen=0).append
        self.closed = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 0) if name == "peername" else default

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        """Never called: the sink is always writable."""

    def resume_reading(self) -> None:
        """Never called: the sink is always writable."""


def _reads(mode: str) -> list[bytes]:
    """The reads one connection receives, in order: whole windows or single requests."""
    windows = _windows(0, WINDOW, KEYS, b"v" * VALUE_SIZE)
    if mode == "pipelined":
        return windows
    reads = []
    for window in windows:
        pos = 0
        while pos < len(window):
            body_len = int.from_bytes(window[pos + 8:pos + 12], "big")  # header bytes 8-11
            end = pos + HEADER_LEN + body_len
            reads.append(window[pos:end])
            pos = end
    return reads


def feed(mode: str, requests: int) -> None:
    """Serve every key once (warm-up), then ``requests`` more requests in ``mode``."""
    from cbserver.kv.connection import KVProtocol
    from cbserver.server import Server, ServerConfig

    server = Server(ServerConfig(vbuckets=1, ephemeral=True))
    protocol = KVProtocol(server)
    transport = _SinkTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    reads = _reads(mode)
    per_read = WINDOW if mode == "pipelined" else 1
    data_received = protocol.data_received
    for data in reads:
        data_received(data)
    count = len(reads)
    for i in range(requests // per_read):
        data_received(reads[i % count])
    if transport.closed:
        raise RuntimeError(f"the server closed the connection while serving {mode} requests")
    bucket = server.buckets["default"]
    figures = bucket.statistics()
    served = figures["cmd_get"] + figures["cmd_set"]
    expected = len(reads) * per_read + requests // per_read * per_read
    if served != expected or bucket.stats["get_misses"]:
        raise RuntimeError(f"{mode}: served {served} of {expected} requests, "
                           f"{bucket.stats['get_misses']} GET misses")


def _callgrind_total(mode: str, requests: int) -> int:
    """Instructions of one whole child process feeding ``requests`` requests."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, PYTHONHASHSEED="0")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, "-m", "benchmarks.kv_instructions", "--feed", mode,
                        "--requests", str(requests)],
                       check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out, "rb") as handle:
            match = _TOTALS.search(handle.read())
    if match is None:
        raise RuntimeError(f"no instruction total in the callgrind output of the {mode} run")
    return int(match.group(1))


def count(mode: str, extra: int = EXTRA_REQUESTS) -> float:
    """Instructions per request in ``mode``: the difference of two run lengths (the two
    Callgrind runs go side by side; their counts do not depend on each other)."""
    with ThreadPoolExecutor(2) as pool:
        short, long = pool.map(lambda n: _callgrind_total(mode, n),
                               (BASE_REQUESTS, BASE_REQUESTS + extra))
    return (long - short) / extra


def main(argv: list[str] | None = None) -> None:
    """Print instructions/request for each mode (or serve as the fed child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, action="append")
    parser.add_argument("--requests", type=int, default=EXTRA_REQUESTS)
    parser.add_argument("--feed", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.feed:
        feed(args.feed, args.requests)
        return
    if shutil.which("valgrind") is None:
        print("instruction counts skipped: valgrind is not installed (Debian: apt-get "
              "install valgrind)", file=sys.stderr)
        return
    from cbserver.kv.fast_path import IMPLEMENTATION

    for mode in args.mode or MODES:
        per_request = count(mode, args.requests)
        print(f"{mode}: {per_request:,.0f} instructions/request (Callgrind, 1:1 SET/GET, "
              f"{VALUE_SIZE}-byte values, {WINDOW if mode == 'pipelined' else 1} per read, "
              f"{IMPLEMENTATION} fast path)", flush=True)


if __name__ == "__main__":
    main()
