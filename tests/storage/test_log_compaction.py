"""Folding commit log segments: segments the running server sealed are read by their headers,
any other segment record by record with its checksum, and a fold leaves the cyclic
garbage collector as it found it, also when it fails."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

from cbserver.storage import BucketStore, CorruptStoreError
from cbserver.storage.batch_writer import BatchWriter
from cbserver.storage.commit_log import CommitLog, list_segments, read_segments
from cbserver.storage.log_compaction import fold_log
from cbserver.storage.log_record import encode_batch


def _log_batches(bucket_dir: Path, batches: int, seal_every: int = 2) -> CommitLog:
    log = CommitLog(bucket_dir)
    for number in range(1, batches + 1):
        log.append(encode_batch(number, [b"k%d" % number, (b"v", 0, number, 0, number, 0, 0.0)]))
        if number % seal_every == 0:
            log.seal()
    log.seal()
    return log


def _damage_first_payload(segment: Path) -> None:
    data = bytearray(segment.read_bytes())
    data[-2] ^= 0xFF  # inside the last record's payload, which is followed by nothing
    data[12] ^= 0xFF  # inside the first record's payload, which another record follows
    segment.write_bytes(bytes(data))


def test_segments_written_here_read_the_same_records(tmp_path) -> None:
    _log_batches(tmp_path, 5)
    segments = list_segments(tmp_path)
    checked = read_segments(segments)
    assert read_segments(segments, set(segments)) == checked
    assert len(checked) == 5


def test_a_segment_not_written_here_is_checked_record_by_record(tmp_path) -> None:
    _log_batches(tmp_path, 4, seal_every=4)
    segment, = list_segments(tmp_path)
    _damage_first_payload(segment)
    assert len(read_segments([segment], {segment})) == 4
    with pytest.raises(CorruptStoreError, match="log.1"):
        read_segments([segment])


@pytest.mark.parametrize("enabled", [True, False], ids=["gc-on", "gc-off"])
def test_a_fold_leaves_the_garbage_collector_as_it_was(tmp_path, enabled) -> None:
    store = BucketStore.open(tmp_path / "kv.sqlite3")
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        _log_batches(tmp_path, 3)
        assert fold_log(BatchWriter(store), tmp_path) == 3
        assert gc.isenabled() is enabled
        _log_batches(tmp_path, 4, seal_every=4)
        _damage_first_payload(list_segments(tmp_path)[0])
        with pytest.raises(CorruptStoreError):
            fold_log(BatchWriter(store), tmp_path)
        assert gc.isenabled() is enabled
        assert store.count() == 3
    finally:
        (gc.enable if was else gc.disable)()
        store.close()
