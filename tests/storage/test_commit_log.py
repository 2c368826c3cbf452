"""The commit log in front of SQLite: torn tails, replay after a crash, compaction, flush,
and damage that refuses the start."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cbserver.engine import Bucket
from cbserver.engine.bucket import SET
from cbserver.storage import CorruptStoreError
from cbserver.storage.commit_log import CommitLog, list_segments, read_segments

from storage_helpers import durable_keys, open_bucket, settle, warm_restart

HERE = str(Path(__file__).parent)
NEVER = 3600.0  # compact_idle_s that keeps everything in the log during a test

CRASH_AFTER_WRITES = textwrap.dedent('''
    import asyncio, os, sys
    sys.path.insert(0, sys.argv[2])
    from cbserver.engine.bucket import SET
    from storage_helpers import open_bucket, settle

    async def main():
        manager, bucket = await open_bucket(sys.argv[1], compact_idle_s=float(sys.argv[3]))
        for round_ in range(4):
            for i in range(300):
                bucket.store(SET, b"key-%d" % i, b"round-%d" % round_, round_, 0)
            for i in range(0, 300, 10):
                bucket.delete(b"key-%d" % i)
            await settle(manager)
        os._exit(0)

    asyncio.run(main())
''')
EXPECTED = {b"key-%d" % i: b"round-3" for i in range(300) if i % 10}


def _crash_after_writes(root: Path, compact_idle_s: float) -> None:
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_WRITES, str(root), HERE,
                              repr(compact_idle_s)], capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 0, crashed.stderr


def _contents(bucket: Bucket) -> dict[bytes, bytes]:
    return {key: bytes(item.value) for key, item in bucket.items()}


def _sqlite_rows(root: Path) -> dict[bytes, tuple]:
    conn = sqlite3.connect(root / "buckets" / "default" / "kv.sqlite3")
    try:
        return {bytes(key): (bytes(value), flags, cas) for key, value, flags, cas
                in conn.execute("SELECT key, value, flags, cas FROM docs")}
    finally:
        conn.close()


def test_records_round_trip_and_a_torn_tail_is_cut_off(tmp_path) -> None:
    log = CommitLog(tmp_path)
    log.append(b"first")
    log.append(b"second")
    log.seal()
    log.append(b"third")
    log.seal()
    segments = list_segments(tmp_path)
    assert [path.name for path in segments] == ["log.1", "log.2"]
    intact = segments[-1].stat().st_size
    with open(segments[-1], "ab") as handle:
        handle.write(b"\x00\x00\x01\x00\x12\x34")  # a header whose payload never arrived
    assert read_segments(segments) == [(segments[0], 0, b"first"), (segments[0], 13, b"second"),
                                       (segments[1], 0, b"third")]
    assert segments[-1].stat().st_size == intact


def test_a_damaged_record_before_the_end_is_refused_naming_the_file(tmp_path) -> None:
    log = CommitLog(tmp_path)
    log.append(b"first record")
    log.append(b"second record")
    log.seal()
    segment = list_segments(tmp_path)[0]
    data = bytearray(segment.read_bytes())
    data[10] ^= 0xFF
    segment.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError, match="log.1"):
        read_segments([segment])


@pytest.mark.parametrize("compact_idle_s", [NEVER, 0.0], ids=["log-only", "compacting"])
def test_replay_after_a_crash_restores_every_acknowledged_write(tmp_path, compact_idle_s) -> None:
    _crash_after_writes(tmp_path, compact_idle_s)
    logged = list_segments(tmp_path / "buckets" / "default")
    if compact_idle_s == NEVER:
        assert logged, "nothing was left in the log: the test proves nothing"
    assert _contents(warm_restart(tmp_path)) == EXPECTED
    assert list_segments(tmp_path / "buckets" / "default") == []


def test_a_torn_record_after_a_kill_mid_append_is_dropped(tmp_path) -> None:
    _crash_after_writes(tmp_path, NEVER)
    last = list_segments(tmp_path / "buckets" / "default")[-1]
    with open(last, "ab") as handle:  # what SIGKILL in the middle of writev leaves
        handle.write(b"\x00\x01\x00\x00\xde\xad\xbe\xef" + b"partial payload")
    assert _contents(warm_restart(tmp_path)) == EXPECTED


def test_a_damaged_log_refuses_the_start_naming_the_file(tmp_path) -> None:
    _crash_after_writes(tmp_path, NEVER)
    first = list_segments(tmp_path / "buckets" / "default")[0]
    data = bytearray(first.read_bytes())
    data[12] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError, match=first.name):
        warm_restart(tmp_path)


def test_compaction_leaves_sqlite_equal_to_the_logical_state(tmp_path) -> None:
    async def scenario() -> dict[bytes, tuple]:
        manager, bucket = await open_bucket(tmp_path, compact_idle_s=NEVER)
        for round_ in range(3):
            for i in range(500):
                bucket.store(SET, b"doc-%d" % i, b"v%d-%d" % (round_, i), round_, 0)
            await settle(manager)
        for i in range(0, 500, 3):
            bucket.delete(b"doc-%d" % i)
        await settle(manager)
        assert list_segments(tmp_path / "buckets" / "default"), "nothing logged"
        expected = {key: (bytes(item.value), item.flags, item.cas)
                    for key, item in bucket.items()}
        assert manager.close()
        return expected

    expected = asyncio.run(scenario())
    assert list_segments(tmp_path / "buckets" / "default") == []
    assert _sqlite_rows(tmp_path) == expected


def test_idle_compaction_folds_the_log_while_running(tmp_path) -> None:
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path, compact_idle_s=0.05)
        for i in range(100):
            bucket.store(SET, b"doc-%d" % i, b"v", 0, 0)
        await settle(manager)
        deadline = time.monotonic() + 30
        while list_segments(tmp_path / "buckets" / "default"):
            assert time.monotonic() < deadline, "the idle writer never compacted its log"
            await asyncio.sleep(0.02)
        assert len(_sqlite_rows(tmp_path)) == 100
        assert manager.close()

    asyncio.run(scenario())


def test_flush_with_a_non_empty_log_empties_the_disk(tmp_path) -> None:
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path, compact_idle_s=NEVER)
        for i in range(200):
            bucket.store(SET, b"before-%d" % i, b"x", 0, 0)
        await settle(manager)
        assert list_segments(tmp_path / "buckets" / "default"), "nothing logged"
        bucket.flush()
        bucket.store(SET, b"after", b"y", 0, 0)
        await settle(manager)
        assert durable_keys(tmp_path) == {b"after"}
        assert manager.close()

    asyncio.run(scenario())
    assert set(_sqlite_rows(tmp_path)) == {b"after"}
    assert _contents(warm_restart(tmp_path)) == {b"after": b"y"}
