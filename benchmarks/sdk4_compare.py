"""Our 1.0 client next to the official Python SDK 4.6.3 on the same cbserver, same run.

Workloads: single set and get in ops/s, 100-key set_multi/get_multi (SDK: upsert_multi /
get_multi) in keys/s, each from one thread and from four threads (the classic client
with one Connection per thread, as 1.0 recommends; the SDK with one shared Cluster).
Targets of issue 7: batched >= 1.0x the SDK, single >= 0.7x. The server runs in a child
process pinned to the last core, both clients on the others. Figures are printed and
kept in ``benchmarks/RESULTS.md`` between this module's markers with machine and date.
Run: ``python -m benchmarks.sdk4_compare`` (``make bench`` runs every benchmark).
"""
from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import platform
import subprocess
from pathlib import Path

from couchbase import Couchbase

from benchmarks._servers import LOAD_CPUS, SERVER_CPUS, pinned
from benchmarks._throughput import best_rate

ROOT = Path(__file__).resolve().parents[1]
SDK4_PYTHON = ROOT / ".venv-sdk4" / "bin" / "python"
WORKLOAD_SCRIPT = Path(__file__).resolve().parent / "_sdk4_workload.py"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
MARK_START = "<!-- sdk4_compare:start -->"
MARK_END = "<!-- sdk4_compare:end -->"
#: Seconds of each of the three timed rounds of a workload (the best round counts).
SECONDS = 0.8
BATCH = 100
THREADS = (1, 4)
VALUE = "x" * 100
ADMIN = ("Administrator", "password")
#: (workload, unit, target ratio classic/SDK)
WORKLOADS = (("set", "ops/s", 0.7), ("get", "ops/s", 0.7),
             ("set_multi", "keys/s", 1.0), ("get_multi", "keys/s", 1.0))


def _serve(conn) -> None:
    """Child process: a cbserver pinned to the server core, stopped when told."""
    os.sched_setaffinity(0, SERVER_CPUS)
    from cbserver.embedded import EmbeddedServer

    with EmbeddedServer(buckets=("default",), admin=ADMIN) as srv:
        conn.send((srv.host, srv.rest_port, srv.kv_port))
        conn.recv()


def classic_rates(host: str, rest_port: int) -> dict[str, float]:
    """The workloads through our client, one Connection per thread."""
    report: dict[str, float] = {}
    for threads in THREADS:
        conns = [Couchbase.connect(bucket="default", host=host, port=rest_port)
                 for _ in range(threads)]
        single = [f"classic-{threads}-{t}" for t in range(threads)]
        batches = [{f"classic-{threads}-{t}-{i}": VALUE for i in range(BATCH)}
                   for t in range(threads)]
        for cb, key, items in zip(conns, single, batches):
            cb.set(key, VALUE)
            cb.set_multi(items)
        pairs = list(zip(conns, single, batches))
        report[f"set/{threads}"] = best_rate(
            [lambda cb=cb, k=k: cb.set(k, VALUE) for cb, k, _ in pairs], SECONDS)
        report[f"get/{threads}"] = best_rate(
            [lambda cb=cb, k=k: cb.get(k).value for cb, k, _ in pairs], SECONDS)
        report[f"set_multi/{threads}"] = best_rate(
            [lambda cb=cb, b=b: cb.set_multi(b) for cb, _, b in pairs], SECONDS, BATCH)
        report[f"get_multi/{threads}"] = best_rate(
            [lambda cb=cb, b=list(b): [r.value for r in cb.get_multi(b).values()]
             for cb, _, b in pairs], SECONDS, BATCH)
    return report


def sdk4_rates(host: str, kv_port: int) -> dict[str, float]:
    """The same workloads through the official SDK, in its own venv and process."""
    if not SDK4_PYTHON.exists():
        raise RuntimeError(f"{SDK4_PYTHON} is missing: run `make sdk4` first")
    args = {"host": host, "kv_port": kv_port, "user": ADMIN[0], "password": ADMIN[1],
            "bucket": "default", "seconds": SECONDS, "batch": BATCH, "threads": list(THREADS),
            "value": VALUE}
    done = subprocess.run([str(SDK4_PYTHON), str(WORKLOAD_SCRIPT), json.dumps(args)],
                          capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: os.sched_setaffinity(0, LOAD_CPUS))
    if done.returncode != 0:
        raise RuntimeError(f"the SDK 4 workload failed (exit {done.returncode}): "
                           f"{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(classic: dict[str, float], sdk4: dict[str, float]) -> list[str]:
    """Markdown rows: workload, both figures, the ratio and whether it meets its target."""
    lines = ["| workload | threads | classic 1.0 | SDK 4.6.3 | ratio | target |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for threads in THREADS:
        for name, unit, target in WORKLOADS:
            key = f"{name}/{threads}"
            ratio = classic[key] / sdk4[key]
            verdict = "met" if ratio >= target else "MISSED"
            lines.append(f"| {name} ({unit}) | {threads} | {classic[key]:,.0f} | "
                         f"{sdk4[key]:,.0f} | {ratio:.2f}x | >= {target:.1f}x {verdict} |")
    return lines


def machine() -> str:
    """CPU model, core count, OS and Python of this run."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def record(lines: list[str], path: Path = RESULTS) -> None:
    """Replace this module's section of RESULTS.md (other benchmarks keep theirs)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join([
        MARK_START,
        "## Classic 1.0 client vs official Python SDK 4.6.3 (`benchmarks.sdk4_compare`)",
        "",
        f"Run {stamp} on {machine()}. Same cbserver (child process, pinned to core "
        f"{sorted(SERVER_CPUS)}), clients pinned to {sorted(LOAD_CPUS)}; each figure is the "
        f"best of three {SECONDS} s rounds; 100-byte JSON string values, {BATCH}-key "
        "batches. The SDK's C++ I/O threads share the client cores with its Python thread.",
        "",
        *lines,
        MARK_END,
    ])
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    """Start the server, measure both clients, print and record the comparison."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child,), name="cbserver-sdk4-bench", daemon=True)
    proc.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the benchmark cbserver did not start within 60 s")
        host, rest_port, kv_port = parent.recv()
        with pinned(LOAD_CPUS):
            classic = classic_rates(host, rest_port)
        sdk4 = sdk4_rates(host, kv_port)
    finally:
        parent.send("stop")
        proc.join(30)
    lines = table(classic, sdk4)
    print("\n".join(lines), flush=True)
    record(lines)


if __name__ == "__main__":
    main()
