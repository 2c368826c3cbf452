"""The modern (SDK 4.x / couchbase-cxx) handshake of protocol.md 6: HELLO, SCRAM, error
map, SELECT_BUCKET, bucket-less and bucket CCCP, flexible framing, XERROR lock statuses."""
from __future__ import annotations

import json

import pytest

from couchbase.protocol import Datatype, Feature, Opcode, Status, encode_request, vbucket_for_key
from couchbase.protocol.extras import (GET_META_V1, UINT16, decode_features, encode_features,
                                       pack_arithmetic, pack_store)
from couchbase.protocol.frames import encode_frame_info
from couchbase.protocol.sasl import ScramClient
from support.rawkv import KV, unique_key

#: The features couchbase-cxx asks for on every connection (protocol.md 6.2).
CXX_FEATURES = [0x03, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x10, 0x0F, 0x11, 0x15, 0x12, 0x17, 0x14,
                0x1C, 0x21, 0x0E, 0x0D, 0x1E, 0x0A, 0x04]


def hello(kv: KV, features=CXX_FEATURES) -> list[int]:
    reply = kv.request(Opcode.HELLO, b'{"a":"test","i":"1/2"}', value=encode_features(features))
    assert reply.status == Status.SUCCESS
    return decode_features(reply.value)


def scram(kv: KV, user: str, password: str, mechanism: str = "SCRAM-SHA512") -> int:
    client = ScramClient(mechanism, user, password)
    first = kv.request(Opcode.SASL_AUTH, mechanism.encode(), value=client.first())
    if first.status != Status.AUTH_CONTINUE:
        return first.status
    final = kv.request(Opcode.SASL_STEP, mechanism.encode(), value=client.final(first.value))
    if final.status == Status.SUCCESS:
        client.verify(final.value)
    return final.status


def modern(port: int, user: str = "Administrator", password: str = "password") -> KV:
    """A connection that did what couchbase-cxx does before choosing a bucket."""
    kv = KV(port)
    hello(kv)
    assert kv.request(Opcode.SASL_LIST_MECHS).status == Status.SUCCESS
    assert scram(kv, user, password) == Status.SUCCESS
    return kv


def test_hello_acks_only_implemented_features_in_request_order(kv):
    assert hello(kv) == [Feature.TCPNODELAY, Feature.XERROR, Feature.SELECT_BUCKET, Feature.JSON,
                         Feature.ALT_REQUEST_SUPPORT, Feature.MUTATION_SEQNO]


def test_list_mechs_offers_scram_first(kv):
    assert kv.request(Opcode.SASL_LIST_MECHS).value.split() == [
        b"SCRAM-SHA512", b"SCRAM-SHA256", b"SCRAM-SHA1", b"CRAM-MD5", b"PLAIN"]


@pytest.mark.parametrize("user, password", [("protected", "secret"),
                                            ("Administrator", "password")])
def test_bucket_user_and_admin_select_the_bucket(server, user, password):
    with modern(server.kv_port, user, password) as kv:
        assert kv.request(Opcode.SELECT_BUCKET, b"protected").status == Status.SUCCESS
        key = unique_key()
        assert kv.set(key, b"v").status == Status.SUCCESS
        assert kv.get(key).value == b"v"


def test_bad_scram_proof_is_auth_error(server):
    with KV(server.kv_port) as kv:
        hello(kv)
        assert scram(kv, "protected", "wrong") == Status.AUTH_ERROR
        assert scram(kv, "nobody", "secret") == Status.AUTH_ERROR


def test_select_bucket_unknown_or_forbidden_is_eaccess(server):
    with modern(server.kv_port, "protected", "secret") as kv:
        assert kv.request(Opcode.SELECT_BUCKET, b"nosuch").status == Status.EACCESS
    with KV(server.kv_port) as kv:
        hello(kv)
        assert kv.request(Opcode.SELECT_BUCKET, b"protected").status == Status.EACCESS


def test_error_map_covers_every_status(kv):
    hello(kv)
    reply = kv.request(Opcode.GET_ERROR_MAP, value=UINT16.pack(2))
    assert reply.status == Status.SUCCESS
    document = json.loads(reply.value)
    assert document["version"] == 2 and document["revision"] >= 1
    errors = document["errors"]
    for status in Status:
        entry = errors[f"{int(status):x}"]
        assert entry["name"] == status.name and entry["desc"]
        assert entry["attrs"] and all(isinstance(a, str) for a in entry["attrs"])
    assert json.loads(kv.request(Opcode.GET_ERROR_MAP, value=UINT16.pack(1)).value)["version"] == 1
    assert json.loads(kv.request(Opcode.GET_ERROR_MAP, value=UINT16.pack(9)).value)["version"] == 2


@pytest.mark.parametrize("value", [b"", UINT16.pack(0), b"\x00\x02\x00"])
def test_malformed_error_map_request_is_einval(kv, value):
    assert kv.request(Opcode.GET_ERROR_MAP, value=value).status == Status.EINVAL


def test_bucketless_session_gets_the_global_config(server):
    with modern(server.kv_port) as kv:
        reply = kv.request(Opcode.GET_CLUSTER_CONFIG)
        assert reply.status == Status.SUCCESS and reply.datatype == Datatype.JSON
        config = json.loads(reply.value)
        assert "name" not in config and "vBucketServerMap" not in config
        assert config["nodesExt"] == [{"thisNode": True, "services": {
            "kv": server.kv_port, "mgmt": server.rest_port, "capi": server.views_port}}]
        assert config["rev"] >= 1 and config["revEpoch"] == 0


def test_bucket_session_gets_the_bucket_config(server):
    with modern(server.kv_port, "protected", "secret") as kv:
        assert kv.request(Opcode.SELECT_BUCKET, b"protected").status == Status.SUCCESS
        config = json.loads(kv.request(Opcode.GET_CLUSTER_CONFIG).value)
        assert config["name"] == "protected" and config["nodeLocator"] == "vbucket"
        assert config["nodesExt"][0]["thisNode"] is True
        assert config["nodesExt"][0]["services"]["kv"] == server.kv_port
        assert "hostname" not in config["nodesExt"][0]
        assert {"cccp", "nodesExt", "cbhello"} <= set(config["bucketCapabilities"])
        assert config["vBucketServerMap"]["vBucketMap"] == [[0]] * 1024
        assert kv.request(Opcode.SELECT_BUCKET, b"@no bucket@").status == Status.SUCCESS
        assert "name" not in json.loads(kv.request(Opcode.GET_CLUSTER_CONFIG).value)


def _send_flex(kv: KV, opcode: int, key: bytes, extras: bytes, value: bytes, frames: bytes,
               datatype: int = 0):
    kv.opaque += 1
    kv.sock.sendall(encode_request(opcode, key, extras, value, vbucket=vbucket_for_key(key, 1024),
                                   opaque=kv.opaque, datatype=datatype, framing_extras=frames))
    return kv.recv()


def test_flexible_framing_requests_are_served_with_frames_ignored(kv):
    hello(kv)
    key = unique_key()
    durability = encode_frame_info(1, b"\x01")
    preserve_ttl = encode_frame_info(5)
    reply = _send_flex(kv, Opcode.SET, key, pack_store(0x02000000, 0), b'{"a":1}',
                       durability + preserve_ttl, datatype=Datatype.JSON)
    assert reply.status == Status.SUCCESS and reply.opaque == kv.opaque
    got = kv.get(key)
    assert (got.value, got.datatype) == (b'{"a":1}', Datatype.JSON)
    assert _send_flex(kv, Opcode.DELETE, key, b"", b"", durability).status == Status.SUCCESS
    assert kv.get(key).status == Status.KEY_ENOENT


def test_truncated_frame_info_is_einval(kv):
    reply = _send_flex(kv, Opcode.GET, unique_key(), b"", b"", b"\x13\x00")
    assert reply.status == Status.EINVAL


def test_get_meta_v1_and_missing(kv):
    key = unique_key()
    cas = kv.set(key, b"v", flags=0x04000000).cas
    reply = kv.request(Opcode.GET_META, key)
    assert reply.cas == cas and GET_META_V1.unpack(reply.extras)[:2] == (0, 0x04000000)
    assert kv.request(Opcode.GET_META, unique_key()).status == Status.KEY_ENOENT


def test_xerror_lock_statuses(kv):
    """protocol.md 2.3, last column: LOCKED for every lock conflict, NOT_LOCKED on unlock."""
    hello(kv)
    key = unique_key()
    kv.set(key, b"1")
    lock_cas = kv.getl(key, 10).cas
    assert kv.get(key).cas == 0xFFFFFFFFFFFFFFFF
    assert kv.set(key, b"2").status == Status.LOCKED
    assert kv.set(key, b"2", cas=lock_cas + 1).status == Status.LOCKED
    assert kv.request(Opcode.APPEND, key, value=b"x").status == Status.LOCKED
    assert kv.arith(key, 1).status == Status.LOCKED
    assert kv.touch(key, 100).status == Status.LOCKED
    assert kv.touch(key, 100, Opcode.GAT).status == Status.LOCKED
    assert kv.delete(key).status == Status.LOCKED
    assert kv.getl(key).status == Status.LOCKED
    assert kv.unlock(key, lock_cas + 1).status == Status.LOCKED
    assert kv.unlock(key, lock_cas).status == Status.SUCCESS
    assert kv.unlock(key, lock_cas).status == Status.NOT_LOCKED
    assert kv.unlock(unique_key(), 1).status == Status.KEY_ENOENT
    assert kv.set(key, b"3", cas=lock_cas + 99).status == Status.KEY_EEXISTS
    assert kv.get(key).value == b"1"


def test_without_xerror_lock_statuses_stay_2x(kv):
    hello(kv, [Feature.SELECT_BUCKET, Feature.JSON])
    key = unique_key()
    kv.set(key, b"1")
    lock_cas = kv.getl(key, 10).cas
    assert kv.set(key, b"2").status == Status.KEY_EEXISTS
    assert kv.delete(key).status == Status.ETMPFAIL
    assert kv.unlock(key, lock_cas).status == Status.SUCCESS
    assert kv.unlock(key, lock_cas).status == Status.ETMPFAIL


def test_xerror_client_without_bucket_gets_no_bucket(server_factory):
    srv = server_factory(buckets=("protected:secret",))
    with KV(srv.kv_port) as kv:
        hello(kv)
        assert kv.get(unique_key()).status == Status.NO_BUCKET
        assert kv.request(Opcode.INCREMENT, unique_key(),
                          pack_arithmetic(1, 0, 0)).status == Status.NO_BUCKET
    with KV(srv.kv_port) as kv:
        assert kv.get(unique_key()).status == Status.AUTH_ERROR
