"""The bucket database: round trips, refusal of damaged or foreign files."""
from __future__ import annotations

import sqlite3

import pytest

from cbserver.storage import BucketStore, CorruptStoreError
from cbserver.storage.store import StoredDoc, from_sql_u64, to_sql_u64

BIG_CAS = (1 << 64) - 2


def _commit(store: BucketStore, upserts=(), deletes=(), truncate=False, purge_before=None,
            counters=None) -> int:
    return store.commit(truncate=truncate, upserts=[field for row in upserts for field in row],
                        deletes=[key for (key,) in deletes], meta=[],
                        counters=counters or {}, purge_before=purge_before)


def _row(key: bytes, value: bytes = b"v", flags: int = 0, expiry: int = 0, cas: int = 1,
         seqno: int = 1) -> tuple:
    return (key, value, flags, expiry, to_sql_u64(cas), 1, to_sql_u64(seqno))


def _load(store: BucketStore, now: int = 1000) -> dict[bytes, StoredDoc]:
    return {doc.key: doc for chunk in store.load(now) for doc in chunk}


def test_u64_mapping_round_trips_the_whole_range() -> None:
    for number in (0, 1, (1 << 63) - 1, 1 << 63, BIG_CAS, (1 << 64) - 1):
        assert from_sql_u64(to_sql_u64(number)) == number


def test_commit_then_reopen_returns_every_field(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = BucketStore.open(path)
    _commit(store, [_row(b"a", b'{"x":1}', flags=7, expiry=5000, cas=BIG_CAS, seqno=3),
                    _row(b"b", b"\x00\xff", cas=2)], counters={"max_cas": BIG_CAS})
    store.close()
    store = BucketStore.open(path)
    docs = _load(store)
    assert docs[b"a"] == StoredDoc(b"a", b'{"x":1}', 7, 5000, BIG_CAS, 1, 3)
    assert docs[b"b"].value == b"\x00\xff"
    assert store.counter("max_cas") == BIG_CAS
    store.close()


def test_load_skips_expired_rows_and_purge_deletes_them(tmp_path) -> None:
    store = BucketStore.open(tmp_path / "kv.sqlite3")
    _commit(store, [_row(b"old", expiry=900), _row(b"new", expiry=2000), _row(b"never")])
    assert set(_load(store, now=1000)) == {b"new", b"never"}
    assert _commit(store, purge_before=1000) == 1
    assert store.count() == 2
    store.close()


def test_deletes_and_truncate(tmp_path) -> None:
    store = BucketStore.open(tmp_path / "kv.sqlite3")
    _commit(store, [_row(b"a"), _row(b"b"), _row(b"c")])
    _commit(store, deletes=[(b"b",)])
    assert set(_load(store)) == {b"a", b"c"}
    _commit(store, [_row(b"after")], truncate=True)
    assert set(_load(store)) == {b"after"}
    store.close()


def test_failed_commit_rolls_back_everything(tmp_path) -> None:
    store = BucketStore.open(tmp_path / "kv.sqlite3")
    _commit(store, [_row(b"kept")])
    with pytest.raises(sqlite3.Error):
        _commit(store, [_row(b"new"), (b"broken",)], deletes=[(b"kept",)])
    assert set(_load(store)) == {b"kept"}
    store.close()


def test_garbage_file_is_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CorruptStoreError) as caught:
        BucketStore.open(path)
    assert str(path) in str(caught.value)
    assert "not an SQLite database" in str(caught.value)


def test_foreign_sqlite_database_is_refused(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CorruptStoreError, match="another application"):
        BucketStore.open(path)


def test_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    BucketStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(CorruptStoreError, match="newer cbserver"):
        BucketStore.open(path)


def test_damaged_pages_are_refused(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = BucketStore.open(path)
    _commit(store, [_row(b"k%05d" % i, b"x" * 300) for i in range(2000)])
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, 7 * page):
        data[offset:offset + 200] = b"\xa5" * 200
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError) as caught:
        BucketStore.open(path)
    assert str(path) in str(caught.value)
