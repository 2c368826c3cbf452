"""The writer process: it never outlives its server, a dead writer is replaced without
losing a batch, a flush is durable before it returns, and STAT memory shows real figures."""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from couchbase.protocol import ObserveState, Opcode, Status, encode_request

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import SET
from cbserver.storage import BucketStore, StorageManager, warm_up
from cbserver.storage.commit_log import CommitLog, list_segments
from cbserver.storage.log_record import encode_batch
from cbserver.storage.writer import NICENESS
from cbserver.storage.writer_process import WriterProcess

from support.cbserver_process import CbserverProcess
from storage_helpers import durable_keys, open_bucket, settle

HERE = str(Path(__file__).parent)


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            children.extend(int(child) for child in handle.read().split())
    return children


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_until(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        time.sleep(0.02)


def test_writer_exits_when_its_server_is_killed(tmp_path) -> None:
    server = CbserverProcess(tmp_path / "data", tmp_path / "cbserver.log")
    kv = server.wait_warm()
    reply, = kv.call([encode_request(Opcode.SET, b"k", b"\0" * 8, b"v")])
    assert reply.status == Status.SUCCESS
    kv.wait_persisted({b"k": reply.cas})
    kv.close()
    writers = _children(server.proc.pid)
    assert writers, "the server runs no writer process"
    server.kill()
    _wait_until(lambda: all(_gone(pid) for pid in writers), "the orphaned writer did not exit")
    server = CbserverProcess(tmp_path / "data", tmp_path / "cbserver.log")
    kv = server.wait_warm()
    assert kv.get_many([b"k"])[b"k"].value == b"v"
    kv.close()
    assert server.terminate() == 0


def test_a_killed_writer_is_replaced_and_nothing_is_lost(tmp_path) -> None:
    """Writes stay durable without a writer (the log is appended in the server); the next
    fold finds it dead and a new writer folds everything into SQLite."""
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path, compact_idle_s=0.05)
        flusher = manager.bucket("default").flusher
        bucket.store(SET, b"first", b"1", 0, 0)
        await settle(manager)
        first_writer = flusher.writer.pid
        os.kill(first_writer, signal.SIGKILL)
        for i in range(500):
            bucket.store(SET, b"after-%d" % i, b"2", 0, 0)
        await settle(manager)
        assert bucket.observe(b"after-499")[0] == ObserveState.PERSISTED
        deadline = time.monotonic() + 30
        while flusher.writer.pid in (first_writer, None) or durable_keys(tmp_path) != {
                b"first", *(b"after-%d" % i for i in range(500))} or list_segments(
                tmp_path / "buckets" / "default"):
            assert time.monotonic() < deadline, "no new writer folded the log"
            await asyncio.sleep(0.02)
        assert manager.health.status == "healthy"
        assert manager.close()

    asyncio.run(scenario())
    store = BucketStore.open(tmp_path / "buckets" / "default" / "kv.sqlite3")
    try:
        assert store.count() == 501
    finally:
        store.close()


CRASH_AFTER_FLUSH = textwrap.dedent('''
    import asyncio, os, signal, sys
    sys.path.insert(0, sys.argv[2])
    from cbserver.engine.bucket import SET
    from storage_helpers import durable_keys, open_bucket, settle

    async def main():
        manager, bucket = await open_bucket(sys.argv[1])
        for i in range(200):
            bucket.store(SET, b"old-%d" % i, b"x", 0, 0)
        await settle(manager)
        writer = manager.bucket("default").flusher.writer.pid
        os.kill(writer, signal.SIGSTOP)
        bucket.flush()
        bucket.store(SET, b"new", b"y", 0, 0)
        os.kill(writer, signal.SIGKILL)
        os._exit(0)

    asyncio.run(main())
''')


def test_flush_is_durable_before_the_flusher_empties_the_disk(tmp_path) -> None:
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_FLUSH, str(tmp_path), HERE],
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 0, crashed.stderr
    assert len(durable_keys(tmp_path)) == 200, "the flush reached the disk: the test proves nothing"

    async def restart() -> Bucket:
        manager = StorageManager(tmp_path)
        manager.open()
        bucket = Bucket(BucketSettings("default"))
        await warm_up(manager.open_bucket("default"), bucket)
        assert manager.close()
        return bucket

    bucket = asyncio.run(restart())
    assert len(bucket) == 0
    status, item = bucket.store(SET, b"later", b"z", 0, 0)
    assert status == Status.SUCCESS and item.seqno > 200


def test_stat_memory_reports_process_and_bucket_figures(tmp_path) -> None:
    server = CbserverProcess(tmp_path / "data", tmp_path / "cbserver.log")
    kv = server.wait_warm()
    kv.call([encode_request(Opcode.SET, b"doc-%d" % i, b"\0" * 8, b"v" * 1000)
             for i in range(100)])
    status, stats = kv.stats(b"memory")
    kv.close()
    with open(f"/proc/{server.proc.pid}/statm") as handle:
        resident_pages = int(handle.read().split()[1])
    assert server.terminate() == 0
    assert status == Status.SUCCESS
    resident = int(stats[b"total_resident_bytes"])
    assert 0.5 < resident / (resident_pages * os.sysconf("SC_PAGE_SIZE")) < 2
    assert int(stats[b"mem_used"]) >= 100 * 1000
    assert int(stats[b"ep_overhead"]) > 0
    assert int(stats[b"ep_value_size"]) + int(stats[b"ep_overhead"]) == int(stats[b"mem_used"])
    assert b"ep_diskqueue_memory" in stats


def test_the_writer_runs_at_a_lower_priority_than_its_server(tmp_path) -> None:
    (tmp_path / "default").mkdir()
    writer = WriterProcess(tmp_path / "default" / "kv.sqlite3", None)
    writer.start()
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, writer.pid) == min(19, ours + NICENESS)
    finally:
        writer.stop()


def test_a_fold_takes_the_named_segments_and_skips_ones_already_folded(tmp_path) -> None:
    """A writer that died after its fold committed leaves the server naming segments that
    are gone; the next writer folds the rest and answers as usual."""
    bucket_dir = tmp_path / "default"
    bucket_dir.mkdir()
    BucketStore.open(bucket_dir / "kv.sqlite3").close()
    commit_log = CommitLog(bucket_dir)
    for number in range(1, 4):
        commit_log.append(encode_batch(number, [b"k%d" % number,
                                                (b"v", 0, number, 0, number, 0, 0.0)]))
        commit_log.seal()
    writer = WriterProcess(bucket_dir / "kv.sqlite3", None)
    writer.start()
    try:
        writer.request_fold(["log.1", "log.2", "log.3", "log.9"])
        assert writer.folding
        assert writer.fold_result() == (3, 0)
        assert not writer.folding
    finally:
        writer.stop()
    assert list_segments(bucket_dir) == []
    store = BucketStore.open(bucket_dir / "kv.sqlite3")
    try:
        assert store.count() == 3
    finally:
        store.close()


def test_segments_are_sealed_at_the_limit_and_folded_while_writes_go_on(tmp_path) -> None:
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path, compact_idle_s=3600.0,
                                            log_limit_bytes=8192)
        for batch in range(40):
            for i in range(10):
                bucket.store(SET, b"key-%d-%d" % (batch, i), b"v" * 100, 0, 0)
            await settle(manager)
        deadline = time.monotonic() + 30
        while _sqlite_count(tmp_path) < 350:  # the open segment may hold the last writes
            assert time.monotonic() < deadline, "sealed segments were not folded"
            await asyncio.sleep(0.02)
        assert len(list_segments(tmp_path / "buckets" / "default")) <= 3
        assert manager.close()

    asyncio.run(scenario())
    assert _sqlite_count(tmp_path) == 400
    assert list_segments(tmp_path / "buckets" / "default") == []


def _sqlite_count(root: Path) -> int:
    conn = sqlite3.connect(f"file:{root / 'buckets' / 'default' / 'kv.sqlite3'}?mode=ro",
                           uri=True)
    try:
        return conn.execute("SELECT count(*) FROM docs").fetchone()[0]
    finally:
        conn.close()
