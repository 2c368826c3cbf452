"""The write-behind flusher against the real engine: OBSERVE states, coalescing, flush, restart."""
from __future__ import annotations

import asyncio
import sqlite3
import time

from couchbase.protocol import ObserveState

from cbserver.engine.bucket import SET
from cbserver.storage import BucketStore
from cbserver.storage.flusher import GROUP_COMMIT_S

from storage_helpers import durable_keys, open_bucket, settle


def _disk(root, name: str = "default") -> dict:
    store = BucketStore.open(root / "buckets" / name / "kv.sqlite3")
    try:
        return {doc.key: doc for chunk in store.load(int(time.time())) for doc in chunk}
    finally:
        store.close()


def test_observe_reports_persisted_only_after_commit(tmp_path) -> None:
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path)
        status, item = bucket.store(SET, b"k", b"v1", 0, 0)
        assert status == 0
        assert bucket.observe(b"k") == (ObserveState.FOUND, item.cas)
        await settle(manager)
        assert bucket.observe(b"k") == (ObserveState.PERSISTED, item.cas)
        bucket.delete(b"k")
        assert bucket.observe(b"k")[0] == ObserveState.LOGICALLY_DELETED
        await settle(manager)
        assert bucket.observe(b"k")[0] == ObserveState.NOT_FOUND
        assert manager.close()

    asyncio.run(scenario())
    assert _disk(tmp_path) == {}


def test_newest_version_wins_and_deletes_reach_disk(tmp_path) -> None:
    async def scenario() -> dict:
        manager, bucket = await open_bucket(tmp_path)
        for round_ in range(5):
            for i in range(200):
                bucket.store(SET, b"key-%d" % i, b"round-%d" % round_, round_, 0)
        for i in range(0, 200, 2):
            bucket.delete(b"key-%d" % i)
        expected = dict(bucket.items())
        assert manager.close()
        return expected

    expected = asyncio.run(scenario())
    disk = _disk(tmp_path)
    assert set(disk) == set(expected) and len(disk) == 100
    for key, item in expected.items():
        assert (disk[key].value, disk[key].flags, disk[key].cas) == (item.value, 4, item.cas)


def test_flush_empties_disk_and_keeps_later_writes(tmp_path) -> None:
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path)
        for i in range(100):
            bucket.store(SET, b"before-%d" % i, b"x", 0, 0)
        await settle(manager)
        bucket.flush()
        bucket.store(SET, b"after", b"y", 0, 0)
        assert manager.close()

    asyncio.run(scenario())
    assert list(_disk(tmp_path)) == [b"after"]


def test_expired_rows_are_deleted_on_disk_by_the_pager(tmp_path) -> None:
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path)
        past = int(time.time()) - 100
        bucket.store(SET, b"expired", b"x", 0, past)
        bucket.store(SET, b"stays", b"x", 0, 0)
        await settle(manager)
        assert durable_keys(tmp_path) == {b"expired", b"stays"}
        await asyncio.wrap_future(manager.bucket("default").flusher.purge_expired())
        assert durable_keys(tmp_path) == {b"stays"}
        assert manager.close()

    asyncio.run(scenario())


def test_writes_keep_becoming_durable_while_the_pager_waits_for_the_database(tmp_path) -> None:
    """The expiry purge rides on a fold in the writer: while it cannot get at SQLite (a
    reader holds the write lock here), appends to the log, and with them OBSERVE
    "persisted", go on. Before, the pager was a commit the flusher waited for, and every
    write stayed unpersisted (and under load was throttled) until it was done."""
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path)
        past = int(time.time()) - 100
        bucket.store(SET, b"expired", b"x", 0, past)
        await settle(manager)
        blocker = sqlite3.connect(tmp_path / "buckets" / "default" / "kv.sqlite3",
                                  isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            purge = manager.bucket("default").flusher.purge_expired()
            await asyncio.sleep(0.3)
            for i in range(50):
                _, item = bucket.store(SET, b"during-%d" % i, b"v", 0, 0)
            deadline = time.monotonic() + 5.0
            while bucket.observe(b"during-49") != (ObserveState.PERSISTED, item.cas):
                assert time.monotonic() < deadline, "writes stayed unpersisted behind the pager"
                await asyncio.sleep(0.01)
            assert not purge.done()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await asyncio.wait_for(asyncio.wrap_future(purge), 30) == 1
        assert b"expired" not in durable_keys(tmp_path)
        assert manager.bucket("default").flusher.stats()["ep_expired_pager"] == 1
        assert manager.close()

    asyncio.run(scenario())


def test_expiry_on_access_deletes_on_disk(tmp_path) -> None:
    now = [time.time()]

    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path, clock=lambda: now[0])
        bucket.store(SET, b"short", b"x", 0, 10)
        await settle(manager)
        now[0] += 11
        assert bucket.get(b"short") is None
        await settle(manager)
        assert durable_keys(tmp_path) == set()
        assert manager.close()

    asyncio.run(scenario())


def test_writes_arriving_one_by_one_are_grouped_into_few_commits(tmp_path) -> None:
    """Group commit: under a trickle of writes a batch is taken at most every
    GROUP_COMMIT_S, and a waiter (checkpoint) is served without waiting out the window."""
    async def scenario() -> None:
        manager, bucket = await open_bucket(tmp_path)
        flusher = manager.bucket("default").flusher
        await settle(manager)
        before = flusher.committed_batches
        started = time.monotonic()
        for i in range(200):
            bucket.store(SET, b"trickle-%d" % i, b"x", 0, 0)
            await asyncio.sleep(0.0005)
        await settle(manager)
        elapsed = time.monotonic() - started
        batches = flusher.committed_batches - before
        assert batches <= elapsed / GROUP_COMMIT_S + 3, (batches, elapsed)
        assert bucket.observe(b"trickle-199")[0] == ObserveState.PERSISTED
        assert manager.close()

    asyncio.run(scenario())
    assert len(_disk(tmp_path)) == 200
