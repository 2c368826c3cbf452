"""Client figures against cbserver: single get/set ops/s and 100-key get_multi/set_multi
keys/s of the 1.0 client, next to python-binary-memcached (a pure-Python client) on the
same node in the same run, with their ratio; then the client's batched calls against a
loop of single calls.

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

#: Seconds each client is timed for per workload (after a short warm-up).
SECONDS = 1.5
#: Length of one timing slice before switching to the other client.
SLICE = 0.05
BATCH = 100


def _serve(conn) -> None:
    """Child process: run an EmbeddedServer, report its ports, stop when told."""
    from cbserver.embedded import EmbeddedServer

    with EmbeddedServer(buckets=("default",)) as srv:
        conn.send((srv.host, srv.rest_port, srv.kv_port))
        conn.recv()


def _rates(ours: Callable[[], object], base: Callable[[], object], per_call: int = 1,
           seconds: float = SECONDS) -> tuple[float, float]:
    """Calls per second (times ``per_call``) of ``ours`` and ``base``, timed in
    alternating slices so that a change in machine load hits both alike."""
    for _ in range(20):
        ours()
        base()
    spent = [0.0, 0.0]
    calls = [0, 0]
    slice_calls = [10, 10]
    deadline = time.perf_counter() + 2 * seconds
    while time.perf_counter() < deadline:
        for side, func in enumerate((ours, base)):
            count = slice_calls[side]
            start = time.perf_counter()
            for _ in range(count):
                func()
            took = time.perf_counter() - start
            spent[side] += took
            calls[side] += count
            slice_calls[side] = max(1, min(count * 2, int(count * SLICE / max(took, 1e-6))))
    return calls[0] * per_call / spent[0], calls[1] * per_call / spent[1]


Rows = list[tuple[str, float, float]]


def measure(host: str, rest_port: int, kv_port: int) -> tuple[Rows, Rows]:
    """Rows (workload, couchbase, bmemcached) and rows (workload, batched, loop of
    single calls) of the couchbase client, against one running node."""
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
        ("single set ops/s", *_rates(lambda: cb.set("bench", "value"),
                                     lambda: mc.set("mc-bench", "value"))),
        ("single get ops/s", *_rates(lambda: cb.get("bench"), lambda: mc.get("mc-bench"))),
        (f"set_multi({BATCH}) keys/s", *_rates(lambda: cb.set_multi(items),
                                               lambda: mc.set_multi(mc_items), BATCH)),
        (f"get_multi({BATCH}) keys/s", *_rates(lambda: cb.get_multi(keys),
                                               lambda: mc.get_multi(mc_keys), BATCH)),
    ]
    batched = [
        (f"get {BATCH} keys, keys/s", *_rates(lambda: cb.get_multi(keys),
                                              lambda: [cb.get(k) for k in keys], BATCH)),
        (f"set {BATCH} keys, keys/s", *_rates(lambda: cb.set_multi(items),
                                              lambda: [cb.set(k, v) for k, v in items.items()],
                                              BATCH)),
    ]
    mc.disconnect_all()
    return rows, batched


def main() -> None:
    """Start cbserver in a child process, measure both clients, print the table."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child,), name="cbserver-bench", daemon=True)
    proc.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the benchmark cbserver did not start within 60 s")
        rows, batched = measure(*parent.recv())
    finally:
        parent.send("stop")
        proc.join(30)
    print(f"client figures against cbserver (child process), {SECONDS} s per client and "
          f"workload, timed in alternating slices")
    print(f"{'client workload':28} {'couchbase':>12} {'bmemcached':>12} {'ratio':>7}")
    for name, ours, base in rows:
        print(f"{name:28} {ours:12.0f} {base:12.0f} {ours / base:7.2f}")
    print(f"{'couchbase batched vs loop':28} {'_multi':>12} {'loop':>12} {'ratio':>7}")
    for name, multi, loop in batched:
        print(f"{name:28} {multi:12.0f} {loop:12.0f} {multi / loop:7.2f}")


if __name__ == "__main__":
    main()
