"""cbserver under many concurrent connections next to memcached 1.6, and the server's
memory per idle connection (issue 7).

Throughput: memcaslap with 64 and 256 connections (binary protocol, 300-byte values,
1:1 GET/SET, one request in flight per connection), the best of alternating rounds per
server. Memory: the growth of the server's resident set (/proc/<pid>/status VmRSS) when
``IDLE_CONNECTIONS`` connections are opened, each served one NOOP and then left idle.
Run: ``python -m benchmarks.server_connections``.
"""
from __future__ import annotations

import contextlib
import resource
import socket
import time

from couchbase.protocol import HEADER_LEN, Opcode, encode_request

from ._servers import Figures, Target, cbserver, memcached, memcaslap, ratio_line, rss_kib

CONCURRENCIES = (64, 256)
#: Seconds each throughput run lasts, and alternating rounds per server (best counts).
SECONDS = 2.0
ROUNDS = 2
IDLE_CONNECTIONS = 1000
_NOOP = encode_request(Opcode.NOOP)


def idle_bytes_per_connection(target: Target, count: int = IDLE_CONNECTIONS) -> float:
    """Bytes of resident memory the server gains per open, idle connection."""
    _allow_descriptors(count + 64)
    _open_idle(target, 16)
    before = rss_kib(target.pid)
    with contextlib.ExitStack() as stack:
        socks = _open_idle(target, count, stack)
        time.sleep(0.2)
        after = rss_kib(target.pid)
        if len(socks) != count:
            raise RuntimeError(f"only {len(socks)} of {count} idle connections to "
                               f"{target.name} were served")
    return (after - before) * 1024 / count


def _open_idle(target: Target, count: int,
               stack: contextlib.ExitStack | None = None) -> list[socket.socket]:
    """Open ``count`` connections, have each served one NOOP, keep them if ``stack``."""
    socks = []
    with contextlib.ExitStack() as local:
        owner = stack if stack is not None else local
        for _ in range(count):
            sock = owner.enter_context(socket.create_connection((target.host, target.port), 10))
            sock.sendall(_NOOP)
            socks.append(sock)
        for sock in socks:
            reply = b""
            while len(reply) < HEADER_LEN:
                chunk = sock.recv(HEADER_LEN - len(reply))
                if not chunk:
                    raise ConnectionError(f"{target.name} closed an idle connection")
                reply += chunk
    return socks


def _allow_descriptors(count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        if hard != resource.RLIM_INFINITY and hard < count:
            raise RuntimeError(f"the descriptor limit {hard} is below the {count} needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))


def measure(seconds: float = SECONDS, rounds: int = ROUNDS) -> tuple[dict, dict]:
    """({concurrency: {server: Figures}}, {server: idle bytes per connection})."""
    rates = {c: {"cbserver": Figures(), "memcached": Figures()} for c in CONCURRENCIES}
    idle: dict[str, float] = {}
    with memcached() as mc, cbserver() as cb:
        for _ in range(rounds):
            for concurrency in CONCURRENCIES:
                for target in (mc, cb):
                    rates[concurrency][target.name].measure(
                        target, lambda: memcaslap(target, concurrency, seconds))
        for target in (mc, cb):
            idle[target.name] = idle_bytes_per_connection(target)
    return rates, idle


def main() -> None:
    """Measure both servers and print the ratios and the memory per idle connection."""
    print("Concurrent connections, memcaslap, binary protocol, 300-byte values, 1:1 get/set; "
          "cbserver with --vbuckets 1", flush=True)
    rates, idle = measure()
    for concurrency, figures in rates.items():
        print(ratio_line(f"{concurrency} connections", figures["cbserver"],
                         figures["memcached"]))
    print(f"{'memory per idle connection':34} cbserver {idle['cbserver']:8.0f} B  "
          f"memcached {idle['memcached']:8.0f} B  ({IDLE_CONNECTIONS} connections, RSS growth)",
          flush=True)


if __name__ == "__main__":
    main()
