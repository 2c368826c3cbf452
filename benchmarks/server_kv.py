"""cbserver KV throughput next to memcached 1.6 in the same run (issue 2).

Binary protocol, 300-byte values, 1:1 GET/SET. Unpipelined: memcaslap (one request in
flight per connection). Pipelined: the raw-socket generator of
:mod:`benchmarks._pipelined_load` (windows of requests per write), the same one for
both servers. Each server runs on its own core, the load on the other; each figure is
the best of alternating rounds. cbserver runs as ``python -m cbserver --ephemeral
--vbuckets 1`` because the generators send vBucket 0 for every key.
Run: ``python -m benchmarks.server_kv`` (``CBSERVER_PURE_PYTHON=1`` runs cbserver with
its Python fast path instead of the C one).
"""
from __future__ import annotations

from cbserver.kv.fast_path import IMPLEMENTATION

from . import _pipelined_load
from ._servers import (LOAD_CPUS, SERVER_CPUS, Figures, cbserver, memcached, memcaslap, pinned,
                       ratio_line)

#: Seconds each measurement runs, and alternating rounds per server (best one counts).
SECONDS = 2.0
ROUNDS = 2
#: memcaslap connections of the unpipelined run.
UNPIPELINED_CONCURRENCY = 16
#: Connections and requests per window of the pipelined run.
PIPE_CONNECTIONS = 4
PIPE_WINDOW = 64
#: Goals of issue 2 (cbserver / memcached).
TARGET_UNPIPELINED = 0.8
TARGET_PIPELINED = 0.5


def measure(seconds: float = SECONDS, rounds: int = ROUNDS) -> dict[str, dict[str, Figures]]:
    """{"unpipelined"|"pipelined": {"cbserver"|"memcached": Figures}} over ``rounds``
    alternating runs per server, so a burst of other load on the machine does not
    decide the ratio."""
    results = {mode: {"cbserver": Figures(), "memcached": Figures()}
               for mode in ("unpipelined", "pipelined")}
    with memcached() as mc, cbserver() as cb:
        for _ in range(rounds):
            for target in (mc, cb):
                results["unpipelined"][target.name].measure(
                    target, lambda: memcaslap(target, UNPIPELINED_CONCURRENCY, seconds))
                with pinned(LOAD_CPUS):
                    results["pipelined"][target.name].measure(
                        target, lambda: _pipelined_load.run(
                            target.host, target.port, connections=PIPE_CONNECTIONS,
                            window=PIPE_WINDOW, seconds=seconds))
    return results


def main() -> None:
    """Measure both servers and print ops/s with the cbserver/memcached ratios."""
    print(f"KV throughput, binary protocol, 300-byte values, 1:1 get/set; server on cpu "
          f"{sorted(SERVER_CPUS)}, load on cpu {sorted(LOAD_CPUS)}; best of {ROUNDS} rounds of "
          f"{SECONDS:.0f} s; cbserver with --vbuckets 1 (the load sends vBucket 0 for every "
          f"key) and the {IMPLEMENTATION} fast path", flush=True)
    results = measure()
    unpiped, piped = results["unpipelined"], results["pipelined"]
    print(ratio_line(f"unpipelined, memcaslap -c {UNPIPELINED_CONCURRENCY}",
                     unpiped["cbserver"], unpiped["memcached"], TARGET_UNPIPELINED))
    print(ratio_line(f"pipelined, {PIPE_CONNECTIONS} conns x {PIPE_WINDOW} deep",
                     piped["cbserver"], piped["memcached"], TARGET_PIPELINED), flush=True)


if __name__ == "__main__":
    main()
