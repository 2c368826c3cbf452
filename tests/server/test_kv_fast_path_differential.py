"""The C fast path is the Python one, request for request: random reads of well-formed and
malformed requests fed to twin buckets through each ``serve_fast`` give the same return
offsets, the same reply items, the same calls into the bucket and the same records
(CAS values included), whatever the bucket holds (locked, expiring and expired records,
JSON documents, a bucket at its quota or throttled) and whatever HELLO negotiated.
"""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.clocks import ManualClock
from couchbase.protocol import MAX_KEY_LEN, MAX_VALUE_LEN, Magic, Opcode
from couchbase.protocol.extras import pack_store
from support.fast_paths import serve_fast_of

from cbserver.engine import Bucket, BucketSettings
from cbserver.engine.bucket import SET
from cbserver.kv.state import Session

HEADER = struct.Struct(">BBHBBHIIQ")
VBUCKETS = 4
UUID = "0123456789abcdef0123456789abcdef"
#: Keys the twins hold before the requests, by state; requests pick from these and new ones.
PLAIN = [b"plain-%d" % n for n in range(4)]
JSON_KEY = b"json-doc"
LOCKED = b"locked"
LIVE_EXPIRY = b"expires-later"
EXPIRED = b"expired"
LONGEST = b"k" * MAX_KEY_LEN
STORED = PLAIN + [JSON_KEY, LOCKED, LIVE_EXPIRY, EXPIRED, LONGEST]
KEYS = STORED + [b"missing", b"new-key", b"k" * (MAX_KEY_LEN + 1)]
GET_OPCODES = [Opcode.GET, Opcode.GETQ, Opcode.GETK, Opcode.GETKQ]
SET_OPCODES = [Opcode.SET, Opcode.SETQ]


class RecordingBucket(Bucket):
    """A real bucket that also notes every call the fast path makes into it."""

    def __init__(self, settings: BucketSettings, clock: ManualClock) -> None:
        super().__init__(settings, clock)
        self.calls: list[tuple] = []

    def set_plain(self, key, value, flags, exptime, datatype):
        self.calls.append(("set_plain", key, value, flags, exptime, datatype))
        return super().set_plain(key, value, flags, exptime, datatype)

    def is_plain(self, record):
        self.calls.append(("is_plain", record))
        return super().is_plain(record)



def filled_bucket(clock: ManualClock, quota: int, throttled: bool) -> RecordingBucket:
    """A bucket holding a record of every state, built the same way for each twin; once
    the clock moves on 10 s, EXPIRED is past its expiry and LOCKED still locked."""
    bucket = RecordingBucket(BucketSettings("twin", ram_quota=quota, num_vbuckets=VBUCKETS,
                                            uuid=UUID), clock)
    bucket._cas = 1_000_000  # the twins' CAS counters start equal
    for n, key in enumerate(PLAIN + [LOCKED, LONGEST]):
        bucket.store(SET, key, b"value %d " % n * (n + 1), 0xDEAD0000 + n, 0)
    bucket.store(SET, JSON_KEY, b'{"json": true}', 7, 0, datatype=1)
    bucket.store(SET, LIVE_EXPIRY, b"later", 1, 3600)
    bucket.store(SET, EXPIRED, b"gone", 2, 5)
    bucket.get_locked(LOCKED, 30)
    bucket.throttled = throttled
    bucket.calls.clear()
    return bucket


def frame(magic: int, opcode: int, key: bytes, extras: bytes, value: bytes, *, datatype: int,
          vbucket: int, cas: int, opaque: int, key_len: int | None = None,
          extras_len: int | None = None, body_len: int | None = None) -> bytes:
    """A request whose header fields may contradict its body (None: the true length)."""
    true_body = len(extras) + len(key) + len(value)
    header = HEADER.pack(magic, opcode, len(key) if key_len is None else key_len,
                         len(extras) if extras_len is None else extras_len, datatype, vbucket,
                         true_body if body_len is None else body_len, opaque, cas)
    return header + extras + key + value


MUTATIONS = ["magic", "key_len", "extras_len", "body_len", "huge_body", "truncate"]


@st.composite
def requests(draw) -> bytes:
    """One request: mostly well-formed GET-family or SET, sometimes mutated, another opcode
    or random bytes."""
    kind = draw(st.sampled_from(["get"] * 4 + ["set"] * 3 + ["other", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=40))
    key = draw(st.sampled_from(KEYS) | st.binary(min_size=0, max_size=12))
    opaque = draw(st.integers(0, 0xFFFFFFFF))
    vbucket = draw(st.sampled_from([0, 1, VBUCKETS - 1, VBUCKETS, 0xFFFF]))
    datatype = draw(st.sampled_from([0, 0, 1, 2, 3, 0xFF]))
    extras, value, cas = b"", b"", 0
    if kind == "get":
        opcode = draw(st.sampled_from(GET_OPCODES))
        if draw(st.integers(0, 9)) == 0:
            extras = draw(st.binary(min_size=1, max_size=8))
    elif kind == "set":
        opcode = draw(st.sampled_from(SET_OPCODES))
        extras = pack_store(draw(st.integers(0, 0xFFFFFFFF)),
                            draw(st.sampled_from([0, 0, 0, 100, 0xFFFFFFFF])))
        if draw(st.integers(0, 9)) == 0:
            extras = draw(st.binary(max_size=12))
        value = draw(st.binary(max_size=64) | st.sampled_from([b"x" * 3000, b'{"a": [1, 2]}']))
        cas = draw(st.sampled_from([0, 0, 0, 1, 0xFFFFFFFFFFFFFFFF]))
    else:
        opcode = draw(st.sampled_from([Opcode.DELETE, Opcode.NOOP, Opcode.ADD, 0xFF]))
    fields = {}
    mutation = draw(st.sampled_from([None] * 6 + MUTATIONS))
    if mutation == "magic":
        fields["magic"] = draw(st.sampled_from([Magic.RESPONSE, Magic.ALT_REQUEST, 0]))
    elif mutation in ("key_len", "extras_len", "body_len"):
        true_len = {"key_len": len(key), "extras_len": len(extras),
                    "body_len": len(extras) + len(key) + len(value)}[mutation]
        limit = 0xFF if mutation == "extras_len" else 0xFFFF
        fields[mutation] = min(limit, max(0, true_len + draw(st.integers(-3, 3))))
    elif mutation == "huge_body":
        fields["body_len"] = draw(st.sampled_from([MAX_VALUE_LEN + 100, 0xFFFFFFFF]))
    magic = fields.pop("magic", Magic.REQUEST)
    raw = frame(magic, opcode, key, extras, value, datatype=datatype, vbucket=vbucket,
                cas=cas, opaque=opaque, **fields)
    if mutation == "truncate":
        raw = raw[:draw(st.integers(0, len(raw) - 1))]
    return raw


def twins(quota: int, throttled: bool, json: bool, mutation_seqno: bool) -> list[tuple]:
    """Two (session, bucket) pairs in the same state on one clock."""
    clock = ManualClock()
    pairs = []
    for _ in range(2):
        session = Session(None, "127.0.0.1")  # type: ignore[arg-type]
        session.json, session.mutation_seqno = json, mutation_seqno
        pairs.append((session, filled_bucket(clock, quota, throttled)))
    clock.advance(10)
    return pairs


def state(bucket: RecordingBucket) -> tuple:
    """Everything of a bucket the fast path may change, and the calls it made."""
    return (list(bucket.records.items()), bucket.stats, bucket.fast_counts.tolist(),
            bucket.mem_used, bucket.seqno,
            bucket._cas, bucket._tombstones, bucket.calls)


def serve_all(serve, session, bucket, reads: list[bytes]) -> list:
    """Serve each read from its start, and on from every request boundary where the fast
    path stopped (as the connection does after the full path served that request)."""
    results = []
    for data, boundaries in reads:
        pos = 0
        while True:
            out: list[bytes] = []
            pos = serve(session, bucket, data, pos, out)
            results.append((pos, out))
            later = [b for b in boundaries if b > pos]
            if not later:
                break
            pos = later[0]
    return results


def with_boundaries(read: list[bytes]) -> tuple[bytes, list[int]]:
    """The concatenated requests and the offset where each one ends."""
    ends, total = [], 0
    for request in read:
        total += len(request)
        ends.append(total)
    return b"".join(read), ends


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reads=st.lists(st.lists(requests(), min_size=1, max_size=12), min_size=1, max_size=4),
       quota=st.sampled_from([1 << 20, 2600, 6000]), throttled=st.booleans(),
       json=st.booleans(), mutation_seqno=st.booleans())
def test_c_and_python_serve_random_reads_alike(reads, quota, throttled, json, mutation_seqno):
    (c_session, c_bucket), (py_session, py_bucket) = twins(quota, throttled, json,
                                                            mutation_seqno)
    assert state(c_bucket) == state(py_bucket)
    framed = [with_boundaries(read) for read in reads]
    from_c = serve_all(serve_fast_of("c"), c_session, c_bucket, framed)
    from_python = serve_all(serve_fast_of("python"), py_session, py_bucket, framed)
    assert from_c == from_python
    assert state(c_bucket) == state(py_bucket)


@pytest.mark.parametrize("value_len, served", [(MAX_VALUE_LEN, True),
                                               (MAX_VALUE_LEN + 1, False)])
def test_largest_value_is_the_same_limit_on_both(value_len, served):
    (c_session, c_bucket), (py_session, py_bucket) = twins(1 << 30, False, False, False)
    request = frame(Magic.REQUEST, Opcode.SET, b"big", pack_store(0, 0), b"v" * value_len,
                    datatype=0, vbucket=0, cas=0, opaque=9)
    results = [serve_fast_of(name)(session, bucket, request, 0, [])
               for name, session, bucket in (("c", c_session, c_bucket),
                                             ("python", py_session, py_bucket))]
    assert results == [len(request) if served else 0] * 2
    assert state(c_bucket) == state(py_bucket)


@pytest.mark.parametrize("pos", [0, 5, 100])
def test_offsets_past_the_data_return_unchanged(pos):
    (session, bucket), _ = twins(1 << 20, False, False, False)
    for name in ("c", "python"):
        assert serve_fast_of(name)(session, bucket, b"\x80" * 4, pos, []) == pos


@pytest.mark.parametrize("record", [
    (b"v", -1, 1, 1, 1, 0, 0.0),
    (b"v", 1 << 32, 1, 1, 1, 0, 0.0),
    (b"v", 0, 1 << 64, 1, 1, 0, 0.0),
    (b"v", 0, 1.5, 1, 1, 0, 0.0),
    (b"v", 0, 1, 256, 1, 0, 0.0),
    (b"v", 0, 1, 1, 1, 0),
    (None, 0, 1, 1, 1, 0, 0.0),
], ids=["negative-flags", "flags-over-32-bits", "cas-over-64-bits", "float-cas",
        "datatype-over-8-bits", "six-fields", "value-without-length"])
def test_a_record_that_cannot_be_encoded_raises_the_same_error(record):
    """Records the engine never makes still fail alike, after the same replies."""
    outcomes = []
    for name, (session, bucket) in zip(("c", "python"), twins(1 << 20, False, True, False)):
        bucket.records[b"odd"] = record
        data = frame(Magic.REQUEST, Opcode.GET, PLAIN[0], b"", b"", datatype=0, vbucket=0,
                     cas=0, opaque=1)
        data += frame(Magic.REQUEST, Opcode.GETK, b"odd", b"", b"", datatype=0, vbucket=0,
                      cas=0, opaque=2)
        out: list[bytes] = []
        with pytest.raises(Exception) as raised:
            serve_fast_of(name)(session, bucket, data, 0, out)
        outcomes.append((raised.type, out, state(bucket)))
    assert outcomes[0] == outcomes[1]
