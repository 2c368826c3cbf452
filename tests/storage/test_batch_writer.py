"""Folding batches into SQLite: a batch of writes and one with deletes give the same
rows, an existing key is updated in place, and keys and values land as BLOBs."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from cbserver.storage import BucketStore
from cbserver.storage.batch_codec import coalesce, encode_batch
from cbserver.storage.batch_writer import BatchWriter

BIG_CAS = (1 << 64) - 5  # beyond SQLite's signed INTEGER: stored by bit pattern


def _record(value: bytes, cas: int, seqno: int, flags: int = 3, expiry: int = 0) -> tuple:
    return (value, flags, cas, 1, seqno, expiry, 0.0)


def _table(path: Path) -> dict[bytes, tuple]:
    conn = sqlite3.connect(path)
    try:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT key, rowid, value, flags, expiry, cas, datatype, seqno, typeof(key), "
            "typeof(value) FROM docs")}
    finally:
        conn.close()


def _apply(writer: BatchWriter, newest: dict, seqno: int) -> tuple[int, int]:
    """Fold the newest state per key as the writer does: one layout 3 batch, coalesced."""
    entries = [part for pair in newest.items() for part in pair]
    folded = coalesce([encode_batch(seqno, entries)])
    return writer.apply_rows(folded.upserts, folded.deletes, folded.max_cas, seqno)


def _loaded(store: BucketStore) -> dict[bytes, tuple]:
    return {doc.key: (doc.value, doc.flags, doc.expiry, doc.cas, doc.datatype, doc.seqno)
            for chunk in store.load(now=0) for doc in chunk}


def test_writes_only_and_mixed_batches_give_the_same_rows(tmp_path) -> None:
    fast, mixed = tmp_path / "fast.sqlite3", tmp_path / "mixed.sqlite3"
    writes = {b"k%d" % i: _record(b"v%d" % i, 100 + i, i + 1, expiry=9000 * (i % 2))
              for i in range(50)}
    mixed_batches = [{b"gone": _record(b"x", 500, 60)}, {**writes, b"gone": 61}]
    for path, batches in ((fast, [writes]), (mixed, mixed_batches)):
        store = BucketStore.open(path)
        try:
            writer = BatchWriter(store)
            for seqno, batch in enumerate(batches, start=70):
                _apply(writer, dict(batch), seqno)
        finally:
            store.close()
    fast_rows, mixed_rows = _table(fast), _table(mixed)
    assert set(fast_rows) == set(mixed_rows) == set(writes)
    for key, (value, flags, cas, datatype, seqno, expiry, _) in writes.items():
        expected = (value, flags, expiry, cas, datatype, seqno, "blob", "blob")
        assert fast_rows[key][1:] == expected
        assert mixed_rows[key][1:] == expected


def test_a_cas_past_the_signed_range_round_trips_and_raises_the_counter(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = BucketStore.open(path)
    try:
        writer = BatchWriter(store)
        batch = {b"a": _record(b"1", 7, 1), b"b": _record(b"2", BIG_CAS, 2)}
        assert _apply(writer, batch, 2) == (0, 2)
        assert _loaded(store)[b"b"] == (b"2", 3, 0, BIG_CAS, 1, 2)
        assert store.counter("max_cas") == BIG_CAS
    finally:
        store.close()


def test_a_key_written_again_is_updated_in_place(tmp_path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = BucketStore.open(path)
    try:
        writer = BatchWriter(store)
        _apply(writer, {b"a": _record(b"old", 10, 1), b"b": _record(b"b", 11, 2)}, 2)
        before = _table(path)
        _apply(writer, {b"a": _record(b"new", 12, 3, flags=9, expiry=77)}, 3)
        after = _table(path)
        assert store.count() == 2
    finally:
        store.close()
    assert after[b"a"][0] == before[b"a"][0], "the row was deleted and inserted again"
    assert after[b"a"][1:] == (b"new", 9, 77, 12, 1, 3, "blob", "blob")
    assert after[b"b"] == before[b"b"]
