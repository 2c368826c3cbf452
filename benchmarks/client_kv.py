"""Client figures: single get/set ops/s and 100-key get_multi/set_multi keys/s of the
1.0 client against python-binary-memcached on the same data node, in one run.

Run: ``python -m benchmarks.client_kv`` (starts memcached and a streaming config
server on free loopback ports)."""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "client"))

import bmemcached  # noqa: E402

from config_server import ConfigServer, make_config  # noqa: E402
from conftest import Memcached  # noqa: E402
from couchbase import Couchbase  # noqa: E402


def _rate(func, count: int, per_call: int = 1) -> float:
    func()
    start = time.perf_counter()
    for _ in range(count):
        func()
    return count * per_call / (time.perf_counter() - start)


def main() -> None:
    node = Memcached()
    server = ConfigServer(make_config("default", [node.port], [[0]] * 64, 1))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=server.port)
        mc = bmemcached.Client([f"127.0.0.1:{node.port}"])
        keys = [f"bench-{i}" for i in range(100)]
        items = {k: "x" * 100 for k in keys}
        mc_keys = [f"mc-{k}" for k in keys]
        mc_items = {f"mc-{k}": v for k, v in items.items()}
        rows = [
            ("single set ops/s", _rate(lambda: cb.set("bench", "value"), 5000),
             _rate(lambda: mc.set("mc-bench", "value"), 5000)),
            ("single get ops/s", _rate(lambda: cb.get("bench"), 5000),
             _rate(lambda: mc.get("mc-bench"), 5000)),
            ("set_multi(100) keys/s", _rate(lambda: cb.set_multi(items), 300, 100),
             _rate(lambda: mc.set_multi(mc_items), 300, 100)),
            ("get_multi(100) keys/s", _rate(lambda: cb.get_multi(keys), 300, 100),
             _rate(lambda: mc.get_multi(mc_keys), 300, 100)),
            ("get loop(100) keys/s", _rate(lambda: [cb.get(k) for k in keys], 50, 100),
             _rate(lambda: [mc.get(k) for k in mc_keys], 50, 100)),
        ]
        print(f"{'client workload':28} {'couchbase':>12} {'bmemcached':>12} {'ratio':>7}")
        for name, ours, base in rows:
            print(f"{name:28} {ours:12.0f} {base:12.0f} {ours / base:7.2f}")
    finally:
        server.close()
        node.stop()


if __name__ == "__main__":
    main()
