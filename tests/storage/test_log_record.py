"""The flat batch layout: round trips, coalescing, the pair layout of older data dirs, refusal
of unknown layouts naming the segment, and the flusher's pairs under thread switches."""
from __future__ import annotations

import asyncio
import marshal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbserver.storage import CorruptStoreError
from cbserver.storage.commit_log import CommitLog, list_segments
from cbserver.storage.log_record import (LAYOUT, MARSHAL_VERSION, RecordLayoutError,
                                         decode_batch, encode_batch, pairs)

from storage_helpers import open_bucket, warm_restart

HERE = str(Path(__file__).parent)
NEVER = 3600.0  # compact_idle_s that keeps everything in the log during a test

records = st.tuples(st.binary(max_size=64), st.integers(0, 2**32 - 1), st.integers(1, 2**64 - 1),
                    st.integers(0, 7), st.integers(1, 2**48), st.integers(0, 2**32 - 1),
                    st.just(0.0))
states = st.one_of(records, st.integers(1, 2**48))
mutations = st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"key-\x00\xff"]), states),
                     max_size=40)


def _flat(changes: list[tuple[bytes, object]]) -> list:
    return [part for change in changes for part in change]


@given(st.integers(0, 2**63 - 1), mutations)
def test_a_flat_batch_round_trips_and_the_last_state_of_a_key_wins(seqno, changes) -> None:
    entries = _flat(changes)
    assert decode_batch(encode_batch(seqno, entries)) == (seqno, entries)
    assert dict(pairs(entries)) == dict(changes)


@given(st.integers(0, 2**63 - 1), mutations)
def test_a_batch_of_the_pair_layout_reads_as_the_same_flat_batch(seqno, changes) -> None:
    legacy = marshal.dumps((seqno, list(changes)), MARSHAL_VERSION)
    assert decode_batch(legacy) == (seqno, _flat(changes))


@pytest.mark.parametrize("payload", [
    marshal.dumps((LAYOUT + 1, 5, [b"k", 5])),
    marshal.dumps((2, 5, [b"k"])),
    marshal.dumps((2, b"5", [b"k", 5])),
    marshal.dumps((5, [b"k", 5])),
    marshal.dumps((5, [(b"k", 5, 6)])),
    marshal.dumps({"seqno": 5}),
    marshal.dumps((1, 2, 3, 4)),
    b"\xff not marshal at all",
    b"\xcb\x03" + bytes(10),
    b"",
], ids=["future-layout", "odd-flat", "bad-seqno", "flat-without-tag", "bad-pair", "dict",
        "long-tuple", "garbage", "truncated-layout-3", "empty"])
def test_anything_else_is_refused(payload) -> None:
    with pytest.raises(RecordLayoutError):
        decode_batch(payload)


def _define_bucket(root: Path) -> Path:
    """Create a data dir with an empty ``default`` bucket; return the bucket's directory."""
    async def scenario() -> None:
        manager, _ = await open_bucket(root)
        assert manager.close()

    asyncio.run(scenario())
    return root / "buckets" / "default"


def _restart(root: Path) -> dict[bytes, tuple]:
    """Open the data dir as a new server would and return {key: (value, flags, cas)}."""
    return {key: (bytes(item.value), item.flags, item.cas)
            for key, item in warm_restart(root).items()}


def test_segments_of_the_marshal_layouts_are_replayed_at_start(tmp_path) -> None:
    bucket_dir = _define_bucket(tmp_path)
    log = CommitLog(bucket_dir)
    log.append(marshal.dumps((3, [(b"a", (b"a1", 1, 101, 0, 1, 0, 0.0)),
                                  (b"b", (b"b1", 2, 102, 0, 2, 0, 0.0)),
                                  (b"a", 3)]), MARSHAL_VERSION))
    log.append(marshal.dumps((2, 4, [b"d", (b"d1", 5, 103, 0, 3, 0, 0.0), b"b", 4]),
                             MARSHAL_VERSION))
    log.append(encode_batch(5, [b"c", (b"c1", 3, 104, 0, 4, 0, 0.0),
                                b"a", (b"a2", 4, 105, 0, 5, 0, 0.0)]))
    log.seal()
    assert _restart(tmp_path) == {b"a": (b"a2", 4, 105), b"c": (b"c1", 3, 104),
                                  b"d": (b"d1", 5, 103)}
    assert list_segments(bucket_dir) == []


@pytest.mark.parametrize("bad", [
    marshal.dumps((LAYOUT + 1, 2, [b"b", 2]), MARSHAL_VERSION),
    encode_batch(2, [b"b", 2])[:-1],
], ids=["unknown-layout", "malformed-layout-3"])
def test_a_record_of_an_unknown_layout_refuses_the_start_naming_the_segment(tmp_path,
                                                                              bad) -> None:
    bucket_dir = _define_bucket(tmp_path)
    log = CommitLog(bucket_dir)
    log.append(encode_batch(1, [b"a", (b"a1", 0, 101, 0, 1, 0, 0.0)]))
    log.append(bad)
    log.seal()
    segment = list_segments(bucket_dir)[0]
    with pytest.raises(CorruptStoreError, match=rf"{segment.name}.*record at byte 57.*layout"):
        _restart(tmp_path)
    assert list_segments(bucket_dir) == [segment], "a refused segment must be kept"


CRASH_AFTER = textwrap.dedent('''
    import asyncio, marshal, os, sys, time
    sys.path.insert(0, sys.argv[2])
    from cbserver.engine.bucket import SET
    from storage_helpers import open_bucket, settle

    async def mixed(manager, bucket):
        """Sets, deletes and re-sets of the same keys, a flush, more of each after it."""
        for round_ in range(3):
            for i in range(50):
                bucket.store(SET, b"key-%d" % i, b"set-%d" % round_, round_, 0)
                if i % 5 == 0:
                    bucket.delete(b"key-%d" % i)
                if i % 10 == 0:
                    bucket.store(SET, b"key-%d" % i, b"reset-%d" % round_, 9, 0)
            await settle(manager)
            if round_ == 1:
                bucket.flush()
                bucket.store(SET, b"after-flush", b"x", 1, 0)
                bucket.delete(b"after-flush")
                bucket.store(SET, b"after-flush", b"y", 2, 0)
                await settle(manager)  # the next round goes to the log, not into the flush

    async def switching(manager, bucket):
        """Many small mutations with the interpreter switching threads every microsecond."""
        sys.setswitchinterval(1e-6)
        flusher = manager.bucket("default").flusher
        i = 0
        while flusher.committed_batches < 300 and i < 300_000:
            i += 1
            bucket.store(SET, b"key-%d" % (i % 700), b"v%d" % i, 0, 0)
            if i % 7 == 0:
                bucket.delete(b"key-%d" % (i % 350))
            if i % 20 == 0:
                await asyncio.sleep(0)
        deadline = time.monotonic() + 10  # drained without a checkpoint's nudge: no lost wakeup
        while flusher.backlog_items:
            assert time.monotonic() < deadline, f"stalled, {flusher.backlog_items} queued"
            await asyncio.sleep(0.001)

    async def main():
        manager, bucket = await open_bucket(sys.argv[1], compact_idle_s=float(sys.argv[3]))
        await globals()[sys.argv[4]](manager, bucket)
        await settle(manager)
        state = {key: (bytes(item.value), item.flags, item.cas) for key, item in bucket.items()}
        with open(os.path.join(sys.argv[1], "expected"), "wb") as handle:
            handle.write(marshal.dumps(state))
        os._exit(0)  # no drain, no compaction: what a crash leaves

    asyncio.run(main())
''')


def _crash_after(root: Path, scenario: str, compact_idle_s: float) -> dict[bytes, tuple]:
    """Run ``scenario`` in a server-like process that dies once it is settled; return the
    state it had acknowledged as durable."""
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER, str(root), HERE,
                              repr(compact_idle_s), scenario],
                             capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 0, crashed.stderr
    return marshal.loads((root / "expected").read_bytes())


@pytest.mark.parametrize("compact_idle_s", [NEVER, 0.0], ids=["log-only", "compacting"])
def test_deletes_flushes_and_resets_of_one_key_survive_a_crash_and_warmup(
        tmp_path, compact_idle_s) -> None:
    expected = _crash_after(tmp_path, "mixed", compact_idle_s)
    assert expected[b"key-0"][0] == b"reset-2" and b"key-5" not in expected
    assert expected[b"after-flush"][0] == b"y"
    if compact_idle_s == NEVER:
        assert list_segments(tmp_path / "buckets" / "default"), "nothing logged"
    assert _restart(tmp_path) == expected
    assert list_segments(tmp_path / "buckets" / "default") == []


def test_thread_switches_between_a_key_and_its_state_lose_nothing(tmp_path) -> None:
    """The flusher's thread may take a batch between the two appends of a mutation: it
    must leave the lone key for the next batch, or the log would hold a broken batch."""
    expected = _crash_after(tmp_path, "switching", NEVER)
    assert len(list_segments(tmp_path / "buckets" / "default")) >= 1
    assert _restart(tmp_path) == expected
