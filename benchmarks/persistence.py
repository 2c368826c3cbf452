"""What persistence costs cbserver (issue 3): write throughput persistent vs ``--ephemeral``,
the flusher's lag (write to OBSERVE "persisted") under saturating load and under a steady
load at half the measured ephemeral rate, and warmup time of 100,000 documents.

cbserver runs as a child process (``python -m cbserver``), its event loop pinned to one
core as in the other server benchmarks; its storage work, the flusher threads (which
append the commit log) and the writer processes (which fold it into SQLite), is left to
the operating system (on a two-core machine it shares the other core with the load
generator). The load is SET-only, pipelined, over a key space far larger than a flusher
batch, so coalescing repeated keys does not hide the cost of writing to disk; a write
answered ETMPFAIL (back-pressure while the disk falls behind) does not count.
Every round starts once the persistent server's storage is idle, so that the log a
persistent round leaves to fold is not folded during the next round (it would slow an
ephemeral one and flatter the ratio), and counts only after a lead-in, so that a
persistent round measures folds running beside the writes, as sustained load has them.
Run: ``python -m benchmarks.persistence``.
"""
from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import selectors
import socket
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from couchbase.protocol import ObserveState, Opcode, Status, encode_request
from couchbase.protocol.extras import (decode_observe_response, encode_observe_request,
                                       pack_store)

from ._median_interval import median_interval
from ._pipelined_load import connect, send_window
from ._servers import LOAD_CPUS, SERVER_CPUS, Target, cbserver, cpu_seconds, pinned

#: Seconds of each throughput round, and pairs of rounds (one per mode, back to back,
#: their order alternating); the cost is the median of the pairs' ratios, printed with
#: its 95% confidence interval. Twenty-five pairs: single pairs on the two-core VM
#: spread with a standard deviation of about 11 points (36 pairs, 2026-11-27), which
#: leaves the median of 9 pairs a standard error of about 3 points and that of 25
#: about 1.5.
SECONDS = 4.0
PAIRS = 25
CONFIDENCE = 0.95
CONNECTIONS = 4
WINDOW = 64
#: Distinct keys per connection: 4 x 16384 keys of 300 bytes, far more than one batch.
KEYS_PER_CONNECTION = 16384
VALUE_SIZE = 300
#: Seconds of uncounted load at the start of every round, so that each persistent round
#: measures a steady state (log segments sealed and folded while writes go on).
LEAD_IN = 1.0
#: A round starts once the persistent server's storage used at most IDLE_CPU seconds of
#: CPU over the last IDLE_SECONDS: the fold a round leaves behind is not charged to the
#: next round, which may be an ephemeral one.
IDLE_SECONDS = 0.3
IDLE_CPU = 0.01
#: Seconds of background load while the lag probes run.
LAG_SECONDS = 3.0
#: The steady lag load runs at this share of the measured ephemeral SET rate.
STEADY_SHARE = 0.5
WARMUP_DOCS = 100_000
WARMUP_VALUE_SIZE = 100
#: Targets of issue 3.
MAX_COST = 0.30
MAX_MEDIAN_LAG_MS = 100.0
MAX_WARMUP_S = 2.0
_HEADER = struct.Struct(">BBHBBHIIQ")
_ALL_CPUS = os.sched_getaffinity(0)


@dataclass
class WriteFigures:
    """The successful SET rate of one round, with the CPU it cost the server's processes."""

    ops: float = 0.0
    loop_us_per_op: float = 0.0
    #: The share of ``loop_us_per_op`` used by the server's other threads (the flushers').
    threads_us_per_op: float = 0.0
    writer_us_per_op: float = 0.0
    throttled: int = 0


def _set_windows(conn_id: int, keys: int, value_size: int) -> list[tuple[bytes, int]]:
    """Pre-encoded (window of SETs, number of SETs) walking through this connection's keys."""
    extras = pack_store(0, 0)
    value = b"p" * value_size
    requests = [encode_request(Opcode.SET, b"w%02d-%07d" % (conn_id, i), extras, value)
                for i in range(keys)]
    return [(b"".join(requests[start:start + WINDOW]), len(requests[start:start + WINDOW]))
            for start in range(0, keys, WINDOW)]


class _WriteConn:
    """One connection keeping a window of SETs in flight and counting the replies."""

    def __init__(self, target: Target, windows: list[tuple[bytes, int]]) -> None:
        self.sock = connect(target.host, target.port)
        self.windows = windows
        self.next = 0
        self.sent = 0
        self.buf = bytearray()
        self.replies = 0
        self.expected = 0
        self.ok = 0
        self.tmpfail = 0
        #: perf_counter() time at which a paced load may send the next window.
        self.due = 0.0

    def send_window(self) -> None:
        data, self.expected = self.windows[self.next]
        send_window(self.sock, data)
        self.next = (self.next + 1) % len(self.windows)
        self.sent += 1
        self.replies = 0

    def read(self) -> bool:
        """Take what arrived; True once every reply of the window is in."""
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed a benchmark connection")
        buf = self.buf
        buf += data
        expected = self.expected
        if len(buf) < expected * 24:
            return False
        if len(buf) == expected * 24 and not any(_statuses(expected).unpack(buf)):
            self.ok += expected
            self.replies = expected
            buf.clear()
            return True
        return self._parse(buf)

    def _parse(self, buf: bytearray) -> bool:
        """Walk reply by reply (error replies carry a message body)."""
        offset = 0
        while len(buf) - offset >= 24:
            _, _, _, _, _, status, body, _, _ = _HEADER.unpack_from(buf, offset)
            if len(buf) - offset < 24 + body:
                break
            offset += 24 + body
            self.replies += 1
            if status == Status.SUCCESS:
                self.ok += 1
            elif status == Status.ETMPFAIL:
                self.tmpfail += 1
            else:
                raise RuntimeError(f"benchmark SET failed with status {status:#x}")
        del buf[:offset]
        return self.replies == self.expected


def _send_due(waiting: list[_WriteConn], now: float) -> float:
    """Send the next window of every waiting connection that is due; return how long to
    wait for replies before the next one is (10 s when none waits)."""
    timeout = 10.0
    for conn in list(waiting):
        if conn.due <= now:
            waiting.remove(conn)
            conn.send_window()
        else:
            timeout = min(timeout, conn.due - now)
    return timeout


@functools.cache
def _statuses(count: int) -> struct.Struct:
    """Layout picking the status field out of ``count`` body-less replies."""
    return struct.Struct(">" + "6xH16x" * count)


def write_load(target: Target, seconds: float, keys: int = KEYS_PER_CONNECTION,
               value_size: int = VALUE_SIZE, passes: int | None = None,
               rate: float | None = None, lead_in: float = 0.0,
               on_lead_in: Callable[[], None] | None = None) -> tuple[float, int]:
    """(successful SETs per second, ETMPFAIL replies) for ``seconds``, or for ``passes``
    walks over every key when given; as fast as replies come, or paced to about ``rate``
    SETs per second in total (a window per connection at even intervals). With
    ``lead_in``, the load runs that many seconds before replies count, and
    ``on_lead_in`` is called when counting begins."""
    conns = [_WriteConn(target, _set_windows(c, keys, value_size)) for c in range(CONNECTIONS)]
    interval = 0.0 if rate is None else WINDOW * len(conns) / rate
    sel = selectors.DefaultSelector()
    try:
        limit = None if passes is None else passes * len(conns[0].windows)
        start = time.perf_counter()
        counted_from = start + lead_in
        deadline = counted_from + seconds
        uncounted_ok = uncounted_tmpfail = 0
        counting = not lead_in
        for index, conn in enumerate(conns):
            sel.register(conn.sock, selectors.EVENT_READ, conn)
            conn.due = start + interval * index / len(conns)
        waiting = list(conns)
        busy = len(conns)
        while busy:
            now = time.perf_counter()
            if not counting and now >= counted_from:
                counting = True
                uncounted_ok = sum(c.ok for c in conns)
                uncounted_tmpfail = sum(c.tmpfail for c in conns)
                if on_lead_in is not None:
                    on_lead_in()
                start = now = time.perf_counter()
            timeout = _send_due(waiting, now)
            events = sel.select(timeout)
            if not events and not waiting:
                raise TimeoutError("a window of SET replies stayed incomplete for 10 s")
            for key, _ in events:
                conn = key.data
                if not conn.read():
                    continue
                if limit is not None:
                    more = conn.sent < limit
                else:
                    more = time.perf_counter() < deadline
                if more:
                    conn.due += interval
                    waiting.append(conn)
                else:
                    busy -= 1
        elapsed = time.perf_counter() - start
        return ((sum(c.ok for c in conns) - uncounted_ok) / elapsed,
                sum(c.tmpfail for c in conns) - uncounted_tmpfail)
    finally:
        sel.close()
        for conn in conns:
            conn.sock.close()


def _background_load(host: str, port: int, seconds: float, rate: float | None) -> None:
    """Child-process entry: SET load for ``seconds``, saturating or paced to ``rate``
    (keeps the lag probes' process idle)."""
    os.sched_setaffinity(0, LOAD_CPUS)
    write_load(Target("cbserver", host, port, 0), seconds, rate=rate)


def other_threads_cpu_seconds(pid: int) -> float:
    """CPU time used so far by the threads of ``pid`` other than its main (event loop)
    thread, from /proc/<pid>/task/<tid>/stat (exited threads are not counted)."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            if int(task) == pid:
                continue
            with contextlib.suppress(FileNotFoundError), \
                    open(f"/proc/{pid}/task/{task}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def writer_pids(pid: int) -> list[int]:
    """Child processes of ``pid`` (the storage writers of a cbserver)."""
    children: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children.extend(int(child) for child in handle.read().split())
    return children


@contextlib.contextmanager
def server(data_dir: str | None) -> Iterator[Target]:
    """A warmed-up cbserver whose storage work may run on any core: its writer processes
    and its threads other than the event loop's (the flushers', which append the commit
    log; they exist once warmup is over)."""
    with cbserver(data_dir=data_dir) as target:
        wait_warm(target)
        threads = [int(task) for task in os.listdir(f"/proc/{target.pid}/task")
                   if int(task) != target.pid]
        for pid in threads + writer_pids(target.pid):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(pid, _ALL_CPUS)
        yield target


def wait_warm(target: Target, timeout: float = 60.0) -> float:
    """Poll GET until data operations stop answering ETMPFAIL; return the seconds waited."""
    start = time.perf_counter()
    with socket.create_connection((target.host, target.port)) as sock:
        probe = encode_request(Opcode.GET, b"warmup-probe")
        while True:
            sock.sendall(probe)
            reply = _recv_frame(sock)
            if _HEADER.unpack_from(reply)[5] != Status.ETMPFAIL:
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"cbserver stayed in warmup for {timeout:.0f} s")
            time.sleep(0.002)


def _recv_frame(sock: socket.socket) -> bytes:
    header = _recv_exactly(sock, 24)
    return header + _recv_exactly(sock, _HEADER.unpack(header)[6])


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("cbserver closed the probe connection")
        data += chunk
    return bytes(data)


def measure_writes(data_dir: str) -> list[dict[str, WriteFigures]]:
    """One {"ephemeral"|"persistent": figures} per pair of rounds: both servers run side
    by side and each pair measures them back to back (in alternating order), so a slow
    spell of the shared machine hits both rounds of a pair alike and cancels out of
    their ratio."""
    pairs = []
    with (server(None) as ephemeral, server(data_dir) as persistent, pinned(LOAD_CPUS)):
        targets = {"ephemeral": ephemeral, "persistent": persistent}
        for target in targets.values():
            write_load(target, 0.5)
        for index in range(PAIRS):
            order = list(targets) if index % 2 == 0 else list(reversed(targets))
            pairs.append({mode: _measure_round(targets[mode], persistent) for mode in order})
    return pairs


def _measure_round(target: Target, persistent: Target) -> WriteFigures:
    """One SET round on ``target``, begun once the ``persistent`` server's storage is
    idle: :data:`LEAD_IN` seconds uncounted, then :data:`SECONDS` counted, with the CPU
    the server's processes spent in the counted part."""
    wait_storage_idle(persistent)
    writers = writer_pids(target.pid)
    marks: dict[str, float] = {}

    def mark() -> None:
        marks.update(loop=cpu_seconds(target.pid), threads=other_threads_cpu_seconds(target.pid),
                     writer=sum(cpu_seconds(pid) for pid in writers), start=time.perf_counter())

    rate, throttled = write_load(target, SECONDS, lead_in=LEAD_IN, on_lead_in=mark)
    ops = rate * (time.perf_counter() - marks["start"])
    return WriteFigures(
        ops=rate, throttled=throttled,
        loop_us_per_op=(cpu_seconds(target.pid) - marks["loop"]) / ops * 1e6,
        threads_us_per_op=(other_threads_cpu_seconds(target.pid) - marks["threads"]) / ops * 1e6,
        writer_us_per_op=(sum(cpu_seconds(pid) for pid in writers) - marks["writer"]) / ops * 1e6)


def wait_storage_idle(target: Target, timeout: float = 60.0) -> None:
    """Wait until the storage of ``target`` (its writer processes and threads other than
    the event loop's) has used no CPU for :data:`IDLE_SECONDS`: what the last round left
    to fold is folded before the next round, whichever server that round measures."""
    def storage_cpu() -> float:
        return (other_threads_cpu_seconds(target.pid)
                + sum(cpu_seconds(pid) for pid in writer_pids(target.pid)))

    deadline = time.perf_counter() + timeout
    last, quiet_since = storage_cpu(), time.perf_counter()
    while time.perf_counter() - quiet_since < IDLE_SECONDS:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"cbserver's storage stayed busy for {timeout:.0f} s")
        time.sleep(0.05)
        now = storage_cpu()
        if now - last > IDLE_CPU:
            quiet_since = time.perf_counter()
        last = now


def measure_lag(data_dir: str, rate: float | None = None) -> list[float]:
    """Milliseconds from a SET's reply to OBSERVE "persisted" for its CAS, under SET load
    as fast as the server answers or paced to ``rate`` SETs per second."""
    lags: list[float] = []
    spawn = multiprocessing.get_context("spawn")
    with server(data_dir) as target, connect(target.host, target.port) as sock:
        load = spawn.Process(target=_background_load,
                             args=(target.host, target.port, LAG_SECONDS + 0.5, rate))
        load.start()
        try:
            time.sleep(0.5)
            deadline = time.perf_counter() + LAG_SECONDS
            probe = 0
            while time.perf_counter() < deadline:
                probe += 1
                lags.append(_probe_lag(sock, b"lag-probe-%d" % probe))
                time.sleep(0.01)
        finally:
            load.join(LAG_SECONDS + 30)
    return lags


def _probe_lag(sock: socket.socket, key: bytes) -> float:
    while True:
        sock.sendall(encode_request(Opcode.SET, key, pack_store(0, 0), b"probe"))
        reply = _recv_frame(sock)
        status, cas = _HEADER.unpack_from(reply)[5], _HEADER.unpack_from(reply)[8]
        if status != Status.ETMPFAIL:  # back-pressure: retry as a client would
            break
        time.sleep(0.001)
    if status != Status.SUCCESS:
        raise RuntimeError(f"lag probe SET of {key!r} failed with status {status:#x}")
    written = time.perf_counter()
    observe = encode_request(Opcode.OBSERVE, value=encode_observe_request([(0, key)]))
    while True:
        sock.sendall(observe)
        reply = _recv_frame(sock)
        ((_, _, state, seen_cas),) = decode_observe_response(reply[24:])
        if state == ObserveState.PERSISTED and seen_cas == cas:
            return (time.perf_counter() - written) * 1000
        time.sleep(0.0005)


def measure_warmup(data_dir: str) -> float:
    """Seconds a restarted cbserver needs to load ``WARMUP_DOCS`` small documents."""
    keys = WARMUP_DOCS // CONNECTIONS
    with server(data_dir) as target, pinned(LOAD_CPUS):
        write_load(target, 0.0, keys=keys, value_size=WARMUP_VALUE_SIZE, passes=1)
    with cbserver(data_dir=data_dir) as target:
        return wait_warm(target)


def main() -> None:
    """Run the three measurements and print them next to the targets of issue 3."""
    print(f"Persistence cost: SET-only, {VALUE_SIZE}-byte values, {CONNECTIONS} conns x "
          f"{WINDOW} deep over {CONNECTIONS * KEYS_PER_CONNECTION} keys; event loop on cpu "
          f"{sorted(SERVER_CPUS)}, load on cpu {sorted(LOAD_CPUS)}, storage threads and "
          f"writers unpinned; {PAIRS} pairs of back-to-back rounds of {SECONDS:.0f} s, "
          f"each counted after a {LEAD_IN:.0f} s lead-in, begun with storage idle",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="cbserver-bench-") as root:
        pairs = measure_writes(os.path.join(root, "throughput"))
        lags = sorted(measure_lag(os.path.join(root, "lag")))
        steady_rate = STEADY_SHARE * statistics.median(pair["ephemeral"].ops for pair in pairs)
        steady_lags = sorted(measure_lag(os.path.join(root, "steady-lag"), steady_rate))
        warmup = measure_warmup(os.path.join(root, "warmup"))
    ratios = []
    for index, pair in enumerate(pairs, 1):
        ratios.append(pair["persistent"].ops / pair["ephemeral"].ops)
        print(f"  pair {index}: persistent/ephemeral {ratios[-1]:6.1%}")
        for label, figures in pair.items():
            print(f"    {label:10} {figures.ops:9.0f} SET/s  server process "
                  f"{figures.loop_us_per_op:5.1f} us/op (other threads "
                  f"{figures.threads_us_per_op:4.1f})  writer {figures.writer_us_per_op:5.1f} "
                  f"us/op  ETMPFAIL {figures.throttled}")
    cost = 1 - statistics.median(ratios)
    low, high = (1 - bound for bound in reversed(median_interval(ratios, CONFIDENCE)))
    print(f"write throughput cost of persistence (median of {PAIRS} pairs): {cost:6.1%}, "
          f"{CONFIDENCE:.0%} confidence interval {low:.1%} to {high:.1%} (target <= "
          f"{MAX_COST:.0%}: {_verdict(cost, high)})")
    cpu_cost = 1 - statistics.median(pair["ephemeral"].loop_us_per_op
                                     / pair["persistent"].loop_us_per_op for pair in pairs)
    print(f"server CPU per write, persistent vs ephemeral (median): {cpu_cost:6.1%} fewer "
          "writes per second of the server's process (the throughput cost once its core "
          "saturates)")
    _print_lag("saturating load", lags)
    _print_lag(f"steady load of {steady_rate:.0f} SET/s ({STEADY_SHARE:.0%} of ephemeral)",
               steady_lags)
    print(f"warmup of {WARMUP_DOCS} documents of {WARMUP_VALUE_SIZE} bytes: {warmup:.2f} s "
          f"(target < {MAX_WARMUP_S:.0f} s: {'met' if warmup < MAX_WARMUP_S else 'MISSED'})",
          flush=True)


def _verdict(cost: float, high: float) -> str:
    """'met' when the whole confidence interval of the cost is within the target, 'met
    in the median' when only its median is, else 'MISSED'."""
    if high <= MAX_COST:
        return "met"
    return "met in the median, not by the whole interval" if cost <= MAX_COST else "MISSED"


def _print_lag(load: str, lags: list[float]) -> None:
    """Print the median and p99 of sorted lag probes next to the median target."""
    median = statistics.median(lags)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"flusher lag (SET reply -> OBSERVE persisted) over {len(lags)} probes, {load}: "
          f"median {median:.1f} ms, p99 {p99:.1f} ms (target median < {MAX_MEDIAN_LAG_MS:.0f} "
          f"ms: {'met' if median < MAX_MEDIAN_LAG_MS else 'MISSED'})")


if __name__ == "__main__":
    main()
