"""Warmup after a restart in the same data directory: documents, counters, expiry, metadata."""
from __future__ import annotations

import asyncio
import time

import pytest

from couchbase.protocol import ObserveState

from cbserver.engine.bucket import SET
from cbserver.storage import BucketDefinition, StorageManager

from storage_helpers import open_bucket, settle


def _snapshot(bucket) -> dict:
    return {key: (item.value, item.flags, item.cas, item.expiry, item.datatype)
            for key, item in bucket.items()}


def test_every_document_comes_back_with_value_flags_cas_and_expiry(tmp_path) -> None:
    async def first_life() -> tuple[dict, int]:
        manager, bucket = await open_bucket(tmp_path)
        for i in range(3000):
            bucket.store(SET, b"doc-%05d" % i, b'{"i":%d}' % i, i % 11, 3600 if i % 3 else 0,
                         datatype=1)
        bucket.delete(b"doc-00007")
        bucket.concat(b"doc-00008", b"-tail", True)
        bucket.arithmetic(b"counter", 5, 10, 0, True)
        manager.close()
        return _snapshot(bucket), bucket.seqno

    async def second_life(expected: dict, seqno_before: int) -> None:
        manager, bucket = await open_bucket(tmp_path)
        assert _snapshot(bucket) == expected
        assert bucket.seqno >= seqno_before
        assert bucket.observe(b"doc-00001") == (ObserveState.PERSISTED,
                                                expected[b"doc-00001"][2])
        status, item = bucket.store(SET, b"doc-00001", b"new", 0, 0)
        assert item.cas > max(value[2] for value in expected.values())
        assert bucket.observe(b"doc-00001")[0] == ObserveState.FOUND
        manager.close()

    expected, seqno = asyncio.run(first_life())
    assert b"doc-00007" not in expected and expected[b"doc-00008"][0].endswith(b"-tail")
    asyncio.run(second_life(expected, seqno))


def test_remaining_expiry_survives_and_expired_documents_do_not_return(tmp_path) -> None:
    async def first_life() -> int:
        manager, bucket = await open_bucket(tmp_path)
        now = int(time.time())
        bucket.store(SET, b"later", b"x", 0, now + 3600)
        bucket.store(SET, b"already", b"x", 0, now - 1)
        manager.close()
        return now + 3600

    async def second_life(expiry: int) -> None:
        manager, bucket = await open_bucket(tmp_path)
        assert bucket.get(b"already") is None
        assert bucket.get(b"later").expiry == expiry
        manager.close()

    asyncio.run(second_life(asyncio.run(first_life())))


def test_deleted_and_flushed_documents_stay_gone(tmp_path) -> None:
    async def first_life() -> None:
        manager, bucket = await open_bucket(tmp_path)
        for i in range(50):
            bucket.store(SET, b"k%d" % i, b"x", 0, 0)
        await settle(manager)
        bucket.flush()
        bucket.store(SET, b"survivor", b"y", 0, 0)
        bucket.store(SET, b"victim", b"z", 0, 0)
        await settle(manager)
        bucket.delete(b"victim")
        manager.close()

    async def second_life() -> None:
        manager, bucket = await open_bucket(tmp_path)
        assert [key for key, _ in bucket.items()] == [b"survivor"]
        manager.close()

    asyncio.run(first_life())
    asyncio.run(second_life())


def test_bucket_definitions_survive_and_bucket_delete_removes_files(tmp_path) -> None:
    manager = StorageManager(tmp_path)
    manager.open()
    manager.define(BucketDefinition("beer-sample", password="s3cret", ram_quota_mb=200,
                                    flush_enabled=True))
    manager.define(BucketDefinition("cache", bucket_type="memcached"))
    manager.open_bucket("beer-sample")
    assert (tmp_path / "buckets" / "beer-sample" / "kv.sqlite3").exists()
    manager.close()

    manager = StorageManager(tmp_path)
    definitions = {d.name: d for d in manager.open()}
    assert definitions["beer-sample"] == BucketDefinition("beer-sample", password="s3cret",
                                                          ram_quota_mb=200, flush_enabled=True)
    assert not definitions["cache"].persistent
    manager.open_bucket("beer-sample")
    manager.delete_bucket("beer-sample")
    assert not (tmp_path / "buckets" / "beer-sample").exists()
    manager.close()

    manager = StorageManager(tmp_path)
    assert [d.name for d in manager.open()] == ["cache"]
    assert manager.health.status == "healthy"
    manager.close()


def test_metadata_hook_is_durable_and_per_bucket(tmp_path) -> None:
    async def first_life() -> None:
        manager, bucket = await open_bucket(tmp_path)
        persistence = manager.bucket("default")
        await asyncio.wrap_future(persistence.meta_put("design", "_design/beer", b'{"views":{}}'))
        await asyncio.wrap_future(persistence.meta_put("design", "_design/gone", b"{}"))
        await asyncio.wrap_future(persistence.meta_delete("design", "_design/gone"))
        with pytest.raises(ValueError, match="reserved"):
            persistence.meta_put("bucket", "max_cas", b"0")
        manager.close()

    async def second_life() -> None:
        manager, bucket = await open_bucket(tmp_path)
        persistence = manager.bucket("default")
        assert persistence.meta_items("design") == {"_design/beer": b'{"views":{}}'}
        assert persistence.meta_get("design", "_design/gone") is None
        manager.close()

    asyncio.run(first_life())
    asyncio.run(second_life())
