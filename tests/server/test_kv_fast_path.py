"""The KV fast path (GET-family hits, SET without CAS) answers exactly like the full path.

Requests with the classic magic 0x80 may take the fast path; the same request with the
flexible-framing magic 0x08 and no framing extras always takes the full path (dispatch
table and handlers). Each scenario runs once each way on twin keys in the same state and
the replies must match, CAS values aside.
"""
from __future__ import annotations

import os
import struct
import time

import pytest
from couchbase.protocol import (LOCKED_CAS, Datatype, Feature, Magic, Opcode, Status,
                                encode_request, vbucket_for_key)
from couchbase.protocol.extras import encode_features, pack_store
from couchbase.protocol.frames import FLEX_HEADER, Frame

from support.rawkv import KV, unique_key

#: Every test runs once with the C and once with the Python fast path serving.
pytestmark = pytest.mark.usefixtures("fast_path_implementation")

STORE_EXTRAS = pack_store(7, 0)


def full_path_request(opcode: int, key: bytes = b"", extras: bytes = b"", value: bytes = b"",
                      *, cas: int = 0, datatype: int = 0, opaque: int = 1) -> bytes:
    """A request in flexible framing with no framing extras: served by the full path."""
    header = FLEX_HEADER.pack(Magic.ALT_REQUEST, opcode, 0, len(key), len(extras), datatype,
                              vbucket_for_key(key, 1024), len(extras) + len(key) + len(value),
                              opaque, cas)
    return header + extras + key + value


def fast_path_request(opcode: int, key: bytes = b"", extras: bytes = b"", value: bytes = b"",
                      *, cas: int = 0, datatype: int = 0, opaque: int = 1) -> bytes:
    return encode_request(opcode, key, extras, value, vbucket=vbucket_for_key(key, 1024),
                          opaque=opaque, cas=cas, datatype=datatype)


def exchange(kv: KV, raw: bytes) -> Frame:
    kv.sock.sendall(raw)
    return kv.recv()


def shape(frame: Frame, key: bytes) -> tuple:
    """Everything of a reply but its CAS (and with the request's key replaced)."""
    echoed = b"<key>" if frame.key == key else frame.key
    extras = frame.extras
    if len(extras) == 16:  # mutation token: vbucket uuid and a seqno that differs per key
        extras = extras[:8]
    return (frame.magic, frame.opcode, frame.status, echoed, extras, frame.value,
            frame.datatype, frame.opaque, frame.cas == LOCKED_CAS, frame.cas == 0)


def both_ways(kv: KV, setup, opcode: int, extras: bytes = b"", value: bytes = b"", **kw):
    """Run ``setup(key)`` then the request on two twin keys, fast and full path."""
    replies = []
    for encode in (fast_path_request, full_path_request):
        key = unique_key("fast")
        setup(key)
        reply = exchange(kv, encode(opcode, key, extras, value, **kw))
        replies.append(shape(reply, key))
    return replies


def stored(kv: KV, **kw):
    def setup(key: bytes) -> None:
        assert kv.set(key, b'{"a": 1}', flags=7, **kw).status == Status.SUCCESS
    return setup


def stored_json(kv: KV):
    def setup(key: bytes) -> None:
        reply = kv.request(Opcode.SET, key, STORE_EXTRAS, b'{"json": true}',
                           datatype=Datatype.JSON)
        assert reply.status == Status.SUCCESS
    return setup


def locked(kv: KV):
    def setup(key: bytes) -> None:
        kv.set(key, b"locked value")
        assert kv.getl(key, 10).status == Status.SUCCESS
    return setup


def nothing(key: bytes) -> None:
    """No setup: the key does not exist."""


@pytest.mark.parametrize("opcode", [Opcode.GET, Opcode.GETK])
@pytest.mark.parametrize("state", ["stored", "json", "locked", "missing"])
def test_get_replies_match_full_path(kv, opcode, state):
    setups = {"stored": stored(kv), "json": stored_json(kv), "locked": locked(kv),
              "missing": nothing}
    setup = setups[state]
    fast, full = both_ways(kv, setup, opcode)
    assert fast == full
    if state == "locked":
        assert fast[-2], "a locked item's CAS must be hidden on the fast path too"


@pytest.mark.parametrize("state", ["stored", "locked", "missing"])
def test_set_replies_match_full_path(kv, state):
    setup = {"stored": stored(kv), "locked": locked(kv), "missing": nothing}[state]
    fast, full = both_ways(kv, setup, Opcode.SET, STORE_EXTRAS, b"new value")
    assert fast == full
    expected = Status.KEY_EEXISTS if state == "locked" else Status.SUCCESS
    assert fast[2] == expected


@pytest.mark.parametrize("case", [
    dict(extras=b"\x00" * 4, value=b"x"),                       # short extras: EINVAL
    dict(extras=STORE_EXTRAS, value=b"x", cas=12345),           # CAS mismatch
    dict(extras=STORE_EXTRAS, value=b"x", datatype=0x02),       # unnegotiated snappy bit
    dict(extras=STORE_EXTRAS, value=b"x", datatype=Datatype.JSON),
    dict(extras=STORE_EXTRAS, value=b"v" * (20 * 1024 * 1024 + 1)),  # E2BIG
])
def test_unusual_sets_match_full_path(kv, case):
    case = dict(case)  # the parameter is shared by both implementations' runs
    extras, value = case.pop("extras"), case.pop("value")
    fast, full = both_ways(kv, stored(kv), Opcode.SET, extras, value, **case)
    assert fast == full


def test_get_with_extras_matches_full_path(kv):
    fast, full = both_ways(kv, stored(kv), Opcode.GET, b"\x00\x00\x00\x01")
    assert fast == full
    assert fast[2] == Status.EINVAL


def test_negotiated_features_shape_fast_replies(kv):
    hello = kv.request(Opcode.HELLO, b"fast-path-test",
                       value=encode_features([Feature.JSON, Feature.MUTATION_SEQNO]))
    assert hello.status == Status.SUCCESS
    fast, full = both_ways(kv, nothing, Opcode.SET, STORE_EXTRAS, b'{"b": 2}',
                           datatype=Datatype.JSON)
    assert fast == full
    assert len(fast[4]) == 8  # the mutation token was there (its uuid half is compared)
    fast, full = both_ways(kv, stored(kv, opcode=Opcode.SET), Opcode.GET)
    assert fast == full


def test_expired_item_is_a_miss_on_both_paths(kv):
    def expiring(key: bytes) -> None:
        kv.set(key, b"short-lived", exp=int(time.time()) - 10)
    fast, full = both_ways(kv, expiring, Opcode.GET)
    assert fast == full
    assert fast[2] == Status.KEY_ENOENT


def test_quiet_ops_in_a_pipeline(kv):
    key, missing = unique_key("quiet"), unique_key("quiet-missing")
    batch = b"".join((
        fast_path_request(Opcode.SETQ, key, STORE_EXTRAS, b"quiet value", opaque=1),
        fast_path_request(Opcode.GETQ, missing, opaque=2),
        fast_path_request(Opcode.GETKQ, key, opaque=3),
        fast_path_request(Opcode.GETQ, key, opaque=4),
        fast_path_request(Opcode.NOOP, opaque=5),
    ))
    kv.sock.sendall(batch)
    replies = [kv.recv() for _ in range(3)]
    assert [r.opaque for r in replies] == [3, 4, 5]
    assert replies[0].key == key and replies[0].value == b"quiet value"
    assert replies[1].key == b"" and replies[1].value == b"quiet value"
    assert struct.unpack(">I", replies[1].extras) == (7,)


def test_requests_split_at_every_byte(kv):
    """A pipeline trickled in one byte per write gives the replies of a single write."""
    key = unique_key("trickle")
    batch = b"".join((
        fast_path_request(Opcode.SET, key, STORE_EXTRAS, b"v" * 300, opaque=1),
        fast_path_request(Opcode.GET, key, opaque=2),
        full_path_request(Opcode.GETK, key, opaque=3),
        fast_path_request(Opcode.DELETE, key, opaque=4),
        fast_path_request(Opcode.GET, key, opaque=5),
    ))
    for i in range(len(batch)):
        kv.sock.sendall(batch[i:i + 1])
    replies = [kv.recv() for _ in range(5)]
    assert [r.opaque for r in replies] == [1, 2, 3, 4, 5]
    assert [r.status for r in replies] == [Status.SUCCESS] * 4 + [Status.KEY_ENOENT]
    assert replies[1].value == replies[2].value == b"v" * 300


def test_bucket_chosen_mid_batch_applies_to_the_rest(server, kv):
    """SASL in the middle of a pipeline: the SET after it goes to the new bucket."""
    key = unique_key("sasl-mid-batch")
    batch = b"".join((
        fast_path_request(Opcode.SASL_AUTH, b"PLAIN", value=b"\x00protected\x00secret"),
        fast_path_request(Opcode.SET, key, STORE_EXTRAS, b"in protected", opaque=2),
    ))
    kv.sock.sendall(batch)
    assert [kv.recv().status for _ in range(2)] == [Status.SUCCESS, Status.SUCCESS]
    with KV(server.kv_port) as other:
        assert other.get(key).status == Status.KEY_ENOENT
    assert kv.get(key).value == b"in protected"


def test_fast_path_counts_stats_and_notifies_listeners(server_factory):
    srv = server_factory(buckets=("default",))
    bucket = srv.server.buckets["default"]
    seen: list[bytes] = []

    class Listener:
        def on_mutation(self, bucket, key, item):
            seen.append(key)

        def on_flush(self, bucket):
            pass

    srv.call(bucket.subscribe, Listener())
    before = bucket.statistics()
    with KV(srv.kv_port) as kv:
        keys = [unique_key("counted") for _ in range(5)]
        kv.sock.sendall(b"".join(fast_path_request(Opcode.SET, k, STORE_EXTRAS, b"x")
                                 for k in keys))
        assert all(kv.recv().status == Status.SUCCESS for _ in keys)
        kv.sock.sendall(b"".join(fast_path_request(Opcode.GET, k) for k in keys))
        assert all(kv.recv().status == Status.SUCCESS for _ in keys)
    assert seen == keys
    after = bucket.statistics()
    assert after["cmd_set"] - before["cmd_set"] == 5
    assert after["cmd_get"] - before["cmd_get"] == 5
    assert after["get_hits"] - before["get_hits"] == 5
    assert after["total_items"] - before["total_items"] == 5
    assert bucket.mem_used > 0


def short_key() -> bytes:
    """A key of 7 bytes: its GET is 31 bytes long, shorter than a SET header with extras,
    so when it ends a read the fast path parses it without the 8 bytes after the header."""
    return os.urandom(4).hex()[:7].encode()


@pytest.mark.parametrize("opcode", [Opcode.GET, Opcode.GETK, Opcode.GETQ])
def test_short_last_get_matches_full_path(kv, opcode):
    replies = []
    for encode in (fast_path_request, full_path_request):
        key = short_key()
        assert kv.set(key, b"short", flags=5).status == Status.SUCCESS
        request = encode(opcode, key, opaque=9)
        assert len(request) < 32
        kv.sock.sendall(request)  # a GETQ hit is answered too
        replies.append(shape(kv.recv(), key))
    assert replies[0] == replies[1]
    assert replies[0][2] == Status.SUCCESS and replies[0][5] == b"short"


def test_short_get_after_a_set_in_one_read(kv):
    key = short_key()
    kv.sock.sendall(fast_path_request(Opcode.SET, key, STORE_EXTRAS, b"v", opaque=1)
                    + fast_path_request(Opcode.GET, key, opaque=2))
    first, second = kv.recv(), kv.recv()
    assert (first.opaque, first.status) == (1, Status.SUCCESS)
    assert (second.opaque, second.status, second.value, second.cas) == \
        (2, Status.SUCCESS, b"v", first.cas)


@pytest.mark.parametrize("opcode", [Opcode.GET, Opcode.GETK])
def test_get_of_an_item_with_a_live_expiry_matches_full_path(kv, opcode):
    fast, full = both_ways(kv, stored(kv, exp=int(time.time()) + 3600), opcode)
    assert fast == full
    assert fast[2] == Status.SUCCESS


def test_set_over_an_item_with_a_live_expiry_matches_full_path(kv):
    fast, full = both_ways(kv, stored(kv, exp=300), Opcode.SET, STORE_EXTRAS, b"replaced")
    assert fast == full
    assert fast[2] == Status.SUCCESS


def test_set_with_an_expiry_keeps_it(kv):
    key = unique_key("fast-ttl")
    reply = exchange(kv, fast_path_request(Opcode.SET, key, pack_store(1, 1), b"brief"))
    assert reply.status == Status.SUCCESS
    assert kv.get(key).value == b"brief"
    deadline = time.monotonic() + 10
    while kv.get(key).status == Status.SUCCESS:
        assert time.monotonic() < deadline, "an item SET with a 1 s expiry never expired"
        time.sleep(0.2)


def test_stats_counted_per_read_include_a_fallback_in_the_middle(server_factory):
    """Hits served before and after a miss (which the full path counts) all add up."""
    srv = server_factory(buckets=("default",))
    bucket = srv.server.buckets["default"]
    with KV(srv.kv_port) as kv:
        key, missing = unique_key("batch"), unique_key("batch-missing")
        before = bucket.statistics()
        kv.sock.sendall(b"".join((
            fast_path_request(Opcode.SET, key, STORE_EXTRAS, b"x", opaque=1),
            fast_path_request(Opcode.GET, key, opaque=2),
            fast_path_request(Opcode.GET, missing, opaque=3),
            fast_path_request(Opcode.GETK, key, opaque=4),
            fast_path_request(Opcode.SETQ, key, STORE_EXTRAS, b"y", opaque=5),
            fast_path_request(Opcode.GET, key, opaque=6),
        )))
        replies = [kv.recv() for _ in range(5)]
    assert [r.opaque for r in replies] == [1, 2, 3, 4, 6]
    assert [r.status for r in replies] == [Status.SUCCESS, Status.SUCCESS, Status.KEY_ENOENT,
                                           Status.SUCCESS, Status.SUCCESS]
    assert replies[-1].value == b"y"
    after = bucket.statistics()
    delta = {name: after[name] - before[name]
             for name in ("cmd_get", "get_hits", "get_misses", "cmd_set", "total_items")}
    assert delta == {"cmd_get": 4, "get_hits": 3, "get_misses": 1, "cmd_set": 2,
                     "total_items": 1}
