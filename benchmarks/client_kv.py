"""Client figures against cbserver: single get/set ops/s and 100-key get_multi/set_multi
keys/s of the 1.0 client, next to python-binary-memcached (a pure-Python client) on the
same node in the same run, with their ratio.

The cbserver is an EmbeddedServer started on free loopback ports in a child process, so
server and clients do not share one interpreter lock. Each figure runs for a bounded
time. Run: ``python -m benchmarks.client_kv`` (or ``make bench``).
"""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

import bmemcached

from couchbase import Couchbase

#: Seconds each workload is timed for (after a short warm-up).
SECONDS = 1.5
BATCH = 100


def _serve(conn) -> None:
    """Child process: run an EmbeddedServer, report its ports, stop when told."""
    from cbserver.embedded import EmbeddedServer

    with EmbeddedServer(buckets=("default",)) as srv:
        conn.send((srv.host, srv.rest_port, srv.kv_port))
        conn.recv()


def _rate(func: Callable[[], object], per_call: int = 1, seconds: float = SECONDS) -> float:
    """Calls of ``func`` per second times ``per_call``, timed for about ``seconds``."""
    for _ in range(20):
        func()
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(10):
            func()
        calls += 10
        now = time.perf_counter()
        if now >= deadline:
            return calls * per_call / (now - start)


def measure(host: str, rest_port: int, kv_port: int) -> list[tuple[str, float, float]]:
    """(workload, couchbase rate, bmemcached rate) rows against one running node."""
    cb = Couchbase.connect(bucket="default", host=host, port=rest_port)
    mc = bmemcached.Client([f"{host}:{kv_port}"])
    keys = [f"bench-{i}" for i in range(BATCH)]
    items = {k: "x" * 100 for k in keys}
    mc_keys = [f"mc-{k}" for k in keys]
    mc_items = {k: "x" * 100 for k in mc_keys}
    cb.set_multi(items)
    mc.set_multi(mc_items)
    cb.set("bench", "value")
    mc.set("mc-bench", "value")
    rows = [
        ("single set ops/s", _rate(lambda: cb.set("bench", "value")),
         _rate(lambda: mc.set("mc-bench", "value"))),
        ("single get ops/s", _rate(lambda: cb.get("bench")),
         _rate(lambda: mc.get("mc-bench"))),
        (f"set_multi({BATCH}) keys/s", _rate(lambda: cb.set_multi(items), BATCH),
         _rate(lambda: mc.set_multi(mc_items), BATCH)),
        (f"get_multi({BATCH}) keys/s", _rate(lambda: cb.get_multi(keys), BATCH),
         _rate(lambda: mc.get_multi(mc_keys), BATCH)),
    ]
    mc.disconnect_all()
    return rows


def main() -> None:
    """Start cbserver in a child process, measure both clients, print the table."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child,), name="cbserver-bench", daemon=True)
    proc.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the benchmark cbserver did not start within 60 s")
        rows = measure(*parent.recv())
    finally:
        parent.send("stop")
        proc.join(30)
    print(f"{'client workload (cbserver)':28} {'couchbase':>12} {'bmemcached':>12} {'ratio':>7}")
    for name, ours, base in rows:
        print(f"{name:28} {ours:12.0f} {base:12.0f} {ours / base:7.2f}")


if __name__ == "__main__":
    main()
