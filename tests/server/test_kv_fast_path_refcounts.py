"""The C fast path keeps its references straight: many calls over mixed reads (hits,
misses, plain SETs, locked and expiring records, mutation tokens, malformed requests)
and over reads where the bucket raises leave the memory the CPython allocators hold and
the reference counts of the keys, values, records and arguments where they were.
"""
from __future__ import annotations

from array import array
import sys

import pytest

from support.clocks import ManualClock
from couchbase.protocol import Opcode, encode_request
from couchbase.protocol.extras import pack_store
from support.c_extensions import traced_growth
from support.fast_paths import serve_fast_of

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import FAST_GETS, SET
from cbserver.kv.state import Session

CALLS = 200_000
WARM_UP = 20_000
#: Bytes the traced heap may grow by over a loop of calls: a clean run grows it by well
#: under 1 KiB, one leaked reply per call would take megabytes, and even one leaked int
#: per mutation-token reply (one call in 18 here) over 300 KiB.
GROWTH_LIMIT = 64 * 1024
HITS = [b"hit-%d" % n for n in range(4)]
SET_KEYS = [b"set-%d" % n for n in range(2)]
LOCKED, EXPIRING, BOOM = b"locked", b"expiring", b"boom"
EXTRAS = pack_store(0xABCD, 0)


class FailingBucket(Bucket):
    """A real bucket whose fast-path calls raise on the key (or value) ``boom``."""

    def set_plain(self, key, value, flags, exptime, datatype):
        if key == BOOM:
            raise RuntimeError("set_plain failed on purpose")
        return super().set_plain(key, value, flags, exptime, datatype)

    def is_plain(self, record):
        if record[0] == BOOM:
            raise RuntimeError("is_plain failed on purpose")
        return super().is_plain(record)


def loaded_bucket() -> FailingBucket:
    bucket = FailingBucket(BucketSettings("refs", num_vbuckets=1), ManualClock())
    for key in HITS + SET_KEYS + [LOCKED]:
        bucket.store(SET, key, b"value of " + key * 20, 7, 0)
    bucket.store(SET, EXPIRING, b"expiring value", 7, 3600)
    bucket.store(SET, b"boom-record", BOOM, 7, 3600)
    bucket.get_locked(LOCKED, 30)
    return bucket


def get(opcode: int, key: bytes, opaque: int = 0) -> bytes:
    return encode_request(opcode, key, opaque=opaque)


def set_(opcode: int, key: bytes, value: bytes) -> bytes:
    return encode_request(opcode, key, EXTRAS, value)


#: Reads that end in every way: served whole, at a miss, a lock (GET and SET), a CAS, a
#: response magic, a huge body length and a cut frame.
READS = [
    b"".join([get(op, key) for op in (Opcode.GET, Opcode.GETQ, Opcode.GETK, Opcode.GETKQ)
              for key in HITS + [EXPIRING]]),
    b"".join([set_(Opcode.SET, SET_KEYS[0], b"x" * 300), set_(Opcode.SETQ, SET_KEYS[1], b"y"),
              get(Opcode.GETK, SET_KEYS[0])]),
    get(Opcode.GET, HITS[0]) + get(Opcode.GET, b"missing") + get(Opcode.GET, HITS[1]),
    get(Opcode.GETK, LOCKED),
    set_(Opcode.SET, LOCKED, b"refused"),
    encode_request(Opcode.SET, HITS[2], EXTRAS, b"v", cas=5),
    b"\x81" + get(Opcode.GET, HITS[0])[1:],
    get(Opcode.GET, HITS[0])[:8] + b"\xff\xff\xff\xff" + get(Opcode.GET, HITS[0])[12:],
    set_(Opcode.SET, SET_KEYS[0], b"cut short")[:30],
]
#: Reads on which the bucket raises, after serving something first.
FAILING = [
    get(Opcode.GET, HITS[0]) + set_(Opcode.SET, BOOM, b"v"),
    get(Opcode.GET, HITS[0]) + get(Opcode.GET, b"boom-record"),
]


def run(serve, session, bucket, reads, calls: int) -> None:
    out: list[bytes] = []
    count = len(reads)
    for i in range(calls):
        session.mutation_seqno = i // count % 2 == 1  # every other pass over the reads
        serve(session, bucket, reads[i % count], 0, out)
        out.clear()


def watched(bucket: Bucket, session: Session) -> list[object]:
    """The objects whose reference counts must not move: every read, every record of a
    key only read, its key and value, and the call's arguments."""
    objects: list[object] = [bucket, session, bucket.records, *READS, *FAILING]
    for key, record in bucket.records.items():
        if key not in SET_KEYS:
            objects += [key, record, record[0]]
    return objects


def refcounts(objects: list[object]) -> list[int]:
    return [sys.getrefcount(each) for each in objects]


def test_many_calls_leak_neither_memory_nor_references():
    serve = serve_fast_of("c")
    bucket, session = loaded_bucket(), Session(None, "127.0.0.1")  # type: ignore[arg-type]
    run(serve, session, bucket, READS, WARM_UP)
    objects = watched(bucket, session)
    before = refcounts(objects)
    growth = traced_growth(lambda: run(serve, session, bucket, READS, CALLS), __file__)
    assert growth < GROWTH_LIMIT, growth
    assert refcounts(objects) == before
    assert bucket.fast_counts[FAST_GETS] > CALLS  # the reads were really served


#: A ``fast_counts`` the C code must refuse (another item type): counting then fails.
WRONG_COUNTS = array("i", [0, 0])


@pytest.mark.parametrize("read, counts, error", [
    (FAILING[0], None, RuntimeError), (FAILING[1], None, RuntimeError),
    (get(Opcode.GET, HITS[3]), WRONG_COUNTS, TypeError),
    (get(Opcode.GET, HITS[3]), b"\0" * 16, BufferError),
], ids=["set_plain", "is_plain", "counts-format", "counts-read-only"])
def test_exceptions_from_the_bucket_propagate_and_leak_nothing(read, counts, error):
    serve = serve_fast_of("c")
    bucket, session = loaded_bucket(), Session(None, "127.0.0.1")  # type: ignore[arg-type]
    if counts is not None:
        bucket.fast_counts = counts
    out: list[bytes] = []

    def fail_many(times: int) -> None:
        for _ in range(times):
            with pytest.raises(error, match="on purpose|fast_counts|writable"):
                serve(session, bucket, read, 0, out)
            out.clear()

    fail_many(1000)
    objects = watched(bucket, session) + [read, out]
    before = refcounts(objects)
    growth = traced_growth(lambda: fail_many(20_000), __file__)
    assert growth < GROWTH_LIMIT, growth
    assert refcounts(objects) == before
