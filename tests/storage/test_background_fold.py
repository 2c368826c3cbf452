"""Compaction without stopping appends: sealed segments fold on a thread of the writer
process while new batches are appended (and acknowledged) into a fresh segment, and a
writer killed in the middle of such a fold loses nothing that was acknowledged."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
from pathlib import Path

from cbserver.storage import BucketStore
from cbserver.storage.batch_writer import BatchWriter
from cbserver.storage.commit_log import CommitLog, list_segments
from cbserver.storage.log_compaction import fold_segments
from cbserver.storage.writer_process import WriterProcess
from cbserver.storage.writer_wire import encode_append

NEVER = 3600.0  # compact_idle_s: only the log limit starts a fold during these tests
LOG_LIMIT = 4096
VALUE = b"x" * 200


class Acknowledged:
    """Sends batches like the flusher and keeps the state every acknowledged one implies."""

    def __init__(self) -> None:
        self.seqno = 0
        self.cas = 1000
        self.state: dict[bytes, tuple | None] = {}

    def batch(self, writes: list[bytes], deletes: list[bytes] = ()) -> tuple[bytes, dict]:
        """Return the append frame for ``writes`` then ``deletes`` and the state it sets."""
        entries: list = []
        changes: dict[bytes, tuple | None] = {}
        for key in writes:
            self.seqno += 1
            self.cas += 1
            value = VALUE + b"%d" % self.seqno
            entries += [key, (value, 7, self.cas, 0, self.seqno, 0, 0.0)]
            changes[key] = (value, 7, self.cas)
        for key in deletes:
            self.seqno += 1
            entries += [key, self.seqno]
            changes[key] = None
        return encode_append(self.seqno, entries), changes

    def send(self, writer: WriterProcess, writes: list[bytes], deletes: list[bytes] = ()
             ) -> None:
        """Append one batch through the writer and record it once acknowledged."""
        frame, changes = self.batch(writes, deletes)
        assert writer.commit(frame) == (0, 0)
        self.state.update(changes)

    def expected(self) -> dict[bytes, tuple]:
        """Return the rows the table must hold: every acknowledged write not deleted later."""
        return {key: row for key, row in self.state.items() if row is not None}


def _rows(path: Path) -> dict[bytes, tuple]:
    conn = sqlite3.connect(path)
    try:
        return {bytes(key): (bytes(value), flags, cas) for key, value, flags, cas
                in conn.execute("SELECT key, value, flags, cas FROM docs")}
    finally:
        conn.close()


def _new_database(tmp_path: Path) -> Path:
    path = tmp_path / "kv.sqlite3"
    BucketStore.open(path).close()
    return path


def test_appends_go_on_during_a_fold_and_a_kill_mid_fold_loses_nothing(tmp_path, capfd) -> None:
    path = _new_database(tmp_path)
    writer = WriterProcess(path, None, compact_idle_s=NEVER, log_limit_bytes=LOG_LIMIT)
    writer.start()
    acked = Acknowledged()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the fold can read its segments but not commit
    try:
        for round_ in range(6):
            keys = [b"doc-%d" % i for i in range(round_, round_ + 8)]
            acked.send(writer, keys, deletes=[b"doc-%d" % round_] if round_ % 2 else [])
        segments = list_segments(tmp_path)
        assert len(segments) >= 2, "the log never reached its limit: the test proves nothing"
        assert segments[0].name == "log.1", "the sealed segment was folded despite the lock"
        assert blocker.execute("SELECT count(*) FROM docs").fetchone() == (0,)
        assert "failed" not in capfd.readouterr().err, "an append waited for the fold"
        os.kill(writer.pid, signal.SIGKILL)
        writer.stop()
    finally:
        blocker.rollback()
        blocker.close()
    restarted = WriterProcess(path, None, compact_idle_s=NEVER, log_limit_bytes=LOG_LIMIT)
    restarted.start()
    restarted.stop()
    assert list_segments(tmp_path) == []
    assert _rows(path) == acked.expected()


def test_appends_after_a_finished_background_fold_survive_a_kill(tmp_path) -> None:
    path = _new_database(tmp_path)
    writer = WriterProcess(path, None, compact_idle_s=NEVER, log_limit_bytes=LOG_LIMIT)
    writer.start()
    acked = Acknowledged()
    for round_ in range(40):
        acked.send(writer, [b"doc-%d" % (round_ % 11), b"doc-%d" % (round_ % 5 + 20)],
                   deletes=[b"doc-%d" % (round_ % 7)] if round_ % 3 == 0 else [])
    assert _rows(path), "no background fold reached SQLite: the test proves nothing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.stop()
    restarted = WriterProcess(path, None, compact_idle_s=NEVER, log_limit_bytes=LOG_LIMIT)
    restarted.start()
    restarted.stop()
    assert _rows(path) == acked.expected()


def test_folding_the_same_segments_again_gives_the_same_table(tmp_path) -> None:
    path = _new_database(tmp_path)
    acked = Acknowledged()
    log = CommitLog(tmp_path)
    for round_ in range(5):
        frame, changes = acked.batch([b"doc-%d" % i for i in range(round_, round_ + 6)],
                                     deletes=[b"doc-%d" % (round_ + 1)])
        log.append(frame[5:])  # the log holds the marshalled batch without wire framing
        acked.state.update(changes)
        if round_ == 2:
            log.seal()
    log.seal()
    segments = list_segments(tmp_path)
    copies = tmp_path / "copies"
    copies.mkdir()
    for segment in segments:
        shutil.copy(segment, copies / segment.name)
    store = BucketStore.open(path)
    try:
        fold_segments(BatchWriter(store), segments)
        once = _rows(path)
        for segment in segments:
            shutil.copy(copies / segment.name, segment)
        fold_segments(BatchWriter(store), segments)
    finally:
        store.close()
    assert once == acked.expected()
    assert _rows(path) == once
