"""Every KV operation of protocol.md 1.2 the 1.0 client uses, over real sockets."""
from __future__ import annotations

import json
import struct

import pytest

from couchbase.protocol import Feature, ObserveState, Opcode, Status
from couchbase.protocol.extras import (GET_META_V2, decode_features, decode_observe_response,
                                       encode_features, encode_observe_request, pack_store,
                                       unpack_u32, unpack_u64)
from support.rawkv import KV, unique_key


def test_set_get_returns_value_flags_and_the_same_cas(kv):
    key = unique_key()
    stored = kv.set(key, b'{"a":1}', flags=0x02000000)
    assert stored.status == Status.SUCCESS and stored.cas != 0
    got = kv.get(key)
    assert (got.status, got.value, unpack_u32(got.extras), got.cas) == (
        Status.SUCCESS, b'{"a":1}', 0x02000000, stored.cas)
    assert got.opcode == Opcode.GET and got.opaque == kv.opaque


def test_cas_values_are_unique_per_mutation(kv):
    key = unique_key()
    cases = {kv.set(key, b"%d" % i).cas for i in range(50)}
    cases.add(kv.set(unique_key(), b"x").cas)
    assert len(cases) == 51


def test_get_missing_is_enoent_with_text(kv):
    reply = kv.get(unique_key())
    assert reply.status == Status.KEY_ENOENT and reply.value == b"Not found"


def test_getk_echoes_the_key(kv):
    key = unique_key()
    kv.set(key, b"v")
    reply = kv.get(key, Opcode.GETK)
    assert reply.key == key and reply.value == b"v"


def test_add_and_replace_rules(kv):
    key = unique_key()
    assert kv.set(key, b"x", opcode=Opcode.REPLACE).status == Status.KEY_ENOENT
    assert kv.set(key, b"x", opcode=Opcode.ADD).status == Status.SUCCESS
    assert kv.set(key, b"y", opcode=Opcode.ADD).status == Status.KEY_EEXISTS
    assert kv.set(key, b"z", opcode=Opcode.REPLACE).status == Status.SUCCESS
    assert kv.set(unique_key(), b"x", cas=99, opcode=Opcode.ADD).status == Status.NOT_STORED
    assert kv.get(key).value == b"z"


def test_cas_checks_on_set_and_delete(kv):
    key = unique_key()
    first = kv.set(key, b"1").cas
    assert kv.set(key, b"2", cas=first + 1).status == Status.KEY_EEXISTS
    second = kv.set(key, b"2", cas=first)
    assert second.status == Status.SUCCESS and second.cas != first
    assert kv.set(unique_key(), b"x", cas=5).status == Status.KEY_ENOENT
    assert kv.delete(key, cas=first).status == Status.KEY_EEXISTS
    assert kv.delete(key, cas=second.cas).status == Status.SUCCESS
    assert kv.delete(key).status == Status.KEY_ENOENT


def test_append_prepend_keep_flags_and_need_the_key(kv):
    key = unique_key()
    assert kv.request(Opcode.APPEND, key, value=b"x").status == Status.NOT_STORED
    kv.set(key, b"Hello", flags=7, exp=0)
    assert kv.request(Opcode.APPEND, key, value=b" World").status == Status.SUCCESS
    assert kv.request(Opcode.PREPEND, key, value=b">> ").status == Status.SUCCESS
    got = kv.get(key)
    assert got.value == b">> Hello World" and unpack_u32(got.extras) == 7
    assert kv.request(Opcode.APPEND, key, value=b"!", cas=got.cas + 7).status == Status.KEY_EEXISTS


def test_counters(kv):
    key = unique_key()
    assert kv.arith(key, 1, 10, 0xFFFFFFFF).status == Status.KEY_ENOENT
    created = kv.arith(key, 5, 10)
    assert created.status == Status.SUCCESS and unpack_u64(created.value) == 10
    assert unpack_u64(kv.arith(key, 5).value) == 15
    assert unpack_u64(kv.arith(key, 100, opcode=Opcode.DECREMENT).value) == 0
    assert kv.get(key).value == b"0"
    kv.set(key, b"18446744073709551615")
    assert unpack_u64(kv.arith(key, 2).value) == 1
    kv.set(key, b"abc")
    assert kv.arith(key, 1).status == Status.DELTA_BADVAL
    assert kv.arith(key, 1, opcode=Opcode.DECREMENT).status == Status.DELTA_BADVAL


def test_counter_keeps_flags_of_existing_item(kv):
    key = unique_key()
    kv.set(key, b"41", flags=3)
    kv.arith(key, 1)
    got = kv.get(key)
    assert got.value == b"42" and unpack_u32(got.extras) == 3


def test_quiet_ops_and_noop_pipeline(kv):
    present, missing = unique_key(), unique_key()
    kv.set(present, b"v")
    batch = b"".join([
        kv.encode(Opcode.GETQ, missing, opaque=1),
        kv.encode(Opcode.GETQ, present, opaque=2),
        kv.encode(Opcode.GETKQ, present, opaque=3),
        kv.encode(Opcode.SETQ, unique_key(), pack_store(0, 0), b"q", opaque=4),
        kv.encode(Opcode.ADDQ, present, pack_store(0, 0), b"q", opaque=5),
        kv.encode(Opcode.DELETEQ, missing, opaque=6),
        kv.encode(Opcode.INCREMENTQ, unique_key(), struct.pack(">QQI", 1, 1, 0), opaque=7),
        kv.encode(Opcode.GATQ, missing, struct.pack(">I", 0), opaque=8),
        kv.encode(Opcode.NOOP, opaque=9),
    ])
    kv.sock.sendall(batch)
    replies = []
    while True:
        reply = kv.recv()
        replies.append((reply.opaque, reply.opcode, reply.status))
        if reply.opcode == Opcode.NOOP:
            break
    assert replies == [
        (2, Opcode.GETQ, Status.SUCCESS),
        (3, Opcode.GETKQ, Status.SUCCESS),
        (5, Opcode.ADDQ, Status.KEY_EEXISTS),
        (6, Opcode.DELETEQ, Status.KEY_ENOENT),
        (9, Opcode.NOOP, Status.SUCCESS),
    ]


def test_large_pipeline_answers_in_request_order(kv):
    keys = [unique_key() for _ in range(2000)]
    kv.sock.sendall(b"".join(kv.encode(Opcode.SET, k, pack_store(0, 0), k, opaque=i)
                             for i, k in enumerate(keys)))
    assert [kv.recv().opaque for _ in keys] == list(range(len(keys)))
    kv.sock.sendall(b"".join(kv.encode(Opcode.GET, k, opaque=i) for i, k in enumerate(keys)))
    replies = [kv.recv() for _ in keys]
    assert [(r.opaque, r.value) for r in replies] == list(enumerate(keys))


def test_touch_and_gat_on_missing_keys(kv):
    key = unique_key()
    assert kv.touch(key, 10).status == Status.KEY_ENOENT
    assert kv.touch(key, 10, Opcode.GAT).status == Status.KEY_ENOENT


def test_observe_reports_state_and_cas(kv):
    present, missing = unique_key(), unique_key()
    cas = kv.set(present, b"v").cas
    body = encode_observe_request([(7, present), (9, missing)])
    reply = kv.request(Opcode.OBSERVE, value=body)
    assert reply.status == Status.SUCCESS
    assert decode_observe_response(reply.value) == [
        (7, present, ObserveState.PERSISTED, cas), (9, missing, ObserveState.NOT_FOUND, 0)]


def test_observe_with_malformed_body_is_einval(kv):
    assert kv.request(Opcode.OBSERVE, value=b"\x00\x01\x00\x09ab").status == Status.EINVAL


@pytest.mark.parametrize("group, expected", [
    (b"", b"curr_items"), (b"memory", b"mem_used"), (b"settings", b"getl_max_timeout"),
    (b"vbucket", b"vb_1023"), (b"uuid", b"uuid"), (b"tap", None), (b"timings", None)])
def test_stat_groups(kv, group, expected):
    kv.send(Opcode.STAT, group, vbucket=0)
    names = []
    while True:
        reply = kv.recv()
        assert reply.status == Status.SUCCESS and reply.opaque == kv.opaque
        if not reply.key:
            assert reply.value == b""
            break
        names.append(reply.key)
    if expected is not None:
        assert expected in names


def test_stat_key_group_and_unknown_group(kv):
    key = unique_key()
    kv.set(key, b"v", flags=5)
    kv.send(Opcode.STAT, b"key " + key, vbucket=0)
    stats = {}
    while (reply := kv.recv()).key:
        stats[reply.key] = reply.value
    assert stats[b"key_flags"] == b"5"
    assert kv.request(Opcode.STAT, b"nonsense", vbucket=0).status == Status.KEY_ENOENT


def test_version_noop_verbosity(kv):
    assert kv.request(Opcode.VERSION).value.startswith(b"2.5.1")
    assert kv.request(Opcode.NOOP).status == Status.SUCCESS
    assert kv.request(Opcode.VERBOSITY, extras=b"\0\0\0\1").status == Status.SUCCESS


def test_quit_answers_then_closes(kv):
    assert kv.request(Opcode.QUIT).status == Status.SUCCESS
    assert kv.is_closed()


def test_quitq_closes_silently(kv):
    kv.send(Opcode.QUITQ)
    assert kv.is_closed()


def test_hello_mutation_seqno_and_json(kv):
    wanted = [Feature.XERROR, Feature.MUTATION_SEQNO, Feature.JSON, Feature.SNAPPY, 0x7777]
    reply = kv.request(Opcode.HELLO, b"test-agent", value=encode_features(wanted))
    assert decode_features(reply.value) == [Feature.XERROR, Feature.MUTATION_SEQNO, Feature.JSON]
    key = unique_key()
    first = kv.request(Opcode.SET, key, pack_store(0, 0), b'{"a":1}', datatype=1)
    second = kv.set(key, b"2")
    assert len(first.extras) == 16 and len(second.extras) == 16
    assert struct.unpack(">QQ", second.extras)[1] > struct.unpack(">QQ", first.extras)[1]
    assert kv.set(key, b'{"b":2}').extras and kv.request(Opcode.SET, key, pack_store(0, 0), b"{}",
                                                         datatype=1).status == Status.SUCCESS
    assert kv.get(key).datatype == 1


def test_get_meta(kv):
    key = unique_key()
    cas = kv.set(key, b"v", flags=9, exp=0).cas
    reply = kv.request(Opcode.GET_META, key, b"\x02")
    deleted, flags, expiry, seqno, datatype = GET_META_V2.unpack(reply.extras)
    assert (reply.cas, deleted, flags, expiry) == (cas, 0, 9, 0) and seqno > 0


def test_cccp_returns_terse_config_with_host_placeholder(server, kv):
    reply = kv.request(Opcode.GET_CLUSTER_CONFIG)
    config = json.loads(reply.value)
    assert config["name"] == "default"
    assert config["vBucketServerMap"]["serverList"] == [f"$HOST:{server.kv_port}"]
    assert len(config["vBucketServerMap"]["vBucketMap"]) == 1024
    assert config["nodes"][0]["couchApiBase"] == f"http://$HOST:{server.views_port}/default"
    known = struct.pack(">qq", 0, config["rev"])
    assert kv.request(Opcode.GET_CLUSTER_CONFIG, extras=known).value == b""


def test_vbucket_outside_the_map_is_not_my_vbucket_with_config(kv):
    reply = kv.request(Opcode.GET, unique_key(), vbucket=1024)
    assert reply.status == Status.NOT_MY_VBUCKET
    assert json.loads(reply.value)["name"] == "default"


def test_select_bucket_needs_access(server, kv):
    assert kv.request(Opcode.SELECT_BUCKET, b"nosuch").status == Status.EACCESS
    assert kv.request(Opcode.SELECT_BUCKET, b"protected").status == Status.EACCESS
    assert kv.request(Opcode.SELECT_BUCKET, b"default").status == Status.SUCCESS


def test_flush_over_kv_needs_flush_enabled(server_factory):
    srv = server_factory(buckets=("default",))
    with KV(srv.kv_port) as conn:
        key = unique_key()
        conn.set(key, b"v")
        assert conn.request(Opcode.FLUSH).status == Status.SUCCESS
        assert conn.get(key).status == Status.KEY_ENOENT
        srv.call(setattr, srv.server.buckets["default"].settings, "flush_enabled", False)
        assert conn.request(Opcode.FLUSH).status == Status.NOT_SUPPORTED


def test_get_replica_is_not_my_vbucket_on_a_single_node(kv):
    assert kv.request(Opcode.GET_REPLICA, unique_key()).status == Status.NOT_MY_VBUCKET


def test_two_connections_see_each_others_writes(server):
    key = unique_key()
    with KV(server.kv_port) as a, KV(server.kv_port) as b:
        a.set(key, b"from a")
        assert b.get(key).value == b"from a"
