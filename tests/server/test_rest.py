"""The REST API: pools, bucket configs, auth, bucket create/delete/flush."""
from __future__ import annotations

import json

import pytest
from resthttp import ADMIN, get_json, http

from couchbase.protocol import Opcode, Status
from support.rawkv import KV, unique_key


def test_root_answers(server):
    assert http(server.rest_port, "/", auth=None)[0] == 200


def test_pools(server):
    pools = get_json(server.rest_port, "/pools")
    assert pools["pools"][0]["name"] == "default" and pools["isAdminCreds"] is True
    assert get_json(server.rest_port, "/pools", auth=None)["isAdminCreds"] is False


def test_pools_default(server):
    pool = get_json(server.rest_port, "/pools/default")
    assert pool["buckets"]["terseBucketsBase"] == "/pools/default/b/"
    assert pool["nodes"][0]["hostname"] == f"127.0.0.1:{server.rest_port}"
    uuid = get_json(server.rest_port, "/pools")["uuid"]
    assert http(server.rest_port, f"/pools/default?uuid={uuid}")[0] == 200
    assert http(server.rest_port, "/pools/default?uuid=wrong")[0] == 404


def test_full_bucket_config(server):
    config = get_json(server.rest_port, "/pools/default/buckets/default")
    vbmap = config["vBucketServerMap"]
    assert vbmap["hashAlgorithm"] == "CRC"
    assert vbmap["serverList"] == [f"127.0.0.1:{server.kv_port}"]
    assert len(vbmap["vBucketMap"]) == 1024 and all(row[0] == 0 for row in vbmap["vBucketMap"])
    node = config["nodes"][0]
    assert node["couchApiBase"] == f"http://127.0.0.1:{server.views_port}/default"
    assert node["hostname"] == f"127.0.0.1:{server.rest_port}"
    assert node["ports"]["direct"] == server.kv_port and node["thisNode"] is True
    assert config["saslPassword"] == "" and isinstance(config["rev"], int)
    assert config["bucketType"] == "membase" and config["nodeLocator"] == "vbucket"


def test_terse_config_keeps_host_placeholder(server):
    config = get_json(server.rest_port, "/pools/default/b/default")
    assert config["vBucketServerMap"]["serverList"] == [f"$HOST:{server.kv_port}"]
    assert config["nodes"][0]["hostname"] == f"$HOST:{server.rest_port}"
    assert config["nodesExt"][0]["services"]["kv"] == server.kv_port


def test_protected_bucket_access_rules(server):
    path = "/pools/default/buckets/protected"
    assert http(server.rest_port, path, auth=None)[0] == 401
    assert http(server.rest_port, path, auth=("protected", "wrong"))[0] == 401
    assert get_json(server.rest_port, path, auth=("protected", "secret"))["saslPassword"] == "secret"
    assert get_json(server.rest_port, path)["saslPassword"] == "secret"
    assert http(server.rest_port, "/pools/default/b/protected", auth=None)[0] == 401


def test_401_carries_the_basic_realm_unless_asked_not_to(server):
    status, headers, _ = http(server.rest_port, "/pools/default/buckets", auth=ADMIN[:1] + ("x",))
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
    status, headers, _ = http(server.rest_port, "/pools/default/buckets", auth=("a", "b"),
                              headers={"invalid-auth-response": "on"})
    assert status == 401 and "WWW-Authenticate" not in headers


def test_unknown_bucket_is_404(server):
    for path in ("/pools/default/buckets/nosuch", "/pools/default/b/nosuch",
                 "/pools/default/bucketsStreaming/nosuch", "/pools/default/bs/nosuch"):
        assert http(server.rest_port, path)[0] == 404, path


def test_bucket_list_depends_on_credentials(server):
    names = lambda auth: {b["name"] for b in get_json(server.rest_port,  # noqa: E731
                                                      "/pools/default/buckets", auth)}
    assert names(ADMIN) == {"default", "protected"}
    assert names(None) == {"default"}
    assert names(("protected", "secret")) == {"default", "protected"}


def test_create_use_and_delete_a_bucket(server_factory):
    srv = server_factory()
    form = {"name": "made", "ramQuotaMB": "100", "authType": "sasl", "saslPassword": "pw",
            "replicaNumber": "0", "flushEnabled": "1"}
    assert http(srv.rest_port, "/pools/default/buckets", "POST", auth=None, form=form)[0] == 401
    status, headers, _ = http(srv.rest_port, "/pools/default/buckets", "POST", form=form)
    assert status == 202 and headers["Location"] == "/pools/default/buckets/made"
    config = get_json(srv.rest_port, "/pools/default/buckets/made", auth=("made", "pw"))
    assert "flush" in config["controllers"]
    with KV(srv.kv_port) as kv:
        from couchbase.protocol.sasl import plain_message
        assert kv.request(Opcode.SASL_AUTH, b"PLAIN",
                          value=plain_message("made", "pw")).status == Status.SUCCESS
        key = unique_key()
        kv.set(key, b"v")
        assert http(srv.rest_port, "/pools/default/buckets/made/controller/doFlush", "POST",
                    auth=("made", "pw"))[0] == 200
        assert kv.get(key).status == Status.KEY_ENOENT
        assert http(srv.rest_port, "/pools/default/buckets/made", "DELETE")[0] == 200
        assert kv.is_closed()
    status, _, body = http(srv.rest_port, "/pools/default/buckets/made", "DELETE")
    assert status == 404 and body == b"The bucket to be deleted was not found."


@pytest.mark.parametrize("form, field", [
    ({"ramQuotaMB": "100"}, "name"),
    ({"name": "bad name!", "ramQuotaMB": "100"}, "name"),
    ({"name": "default", "ramQuotaMB": "100"}, "name"),
    ({"name": "x"}, "ramQuotaMB"),
    ({"name": "x", "ramQuotaMB": "50"}, "ramQuotaMB"),
    ({"name": "x", "ramQuotaMB": "lots"}, "ramQuotaMB"),
    ({"name": "x", "ramQuotaMB": "100", "bucketType": "magic"}, "bucketType"),
    ({"name": "x", "ramQuotaMB": "100", "replicaNumber": "9"}, "replicaNumber"),
    ({"name": "x", "ramQuotaMB": "100", "authType": "none"}, "proxyPort"),
])
def test_bucket_create_validation(server, form, field):
    status, _, body = http(server.rest_port, "/pools/default/buckets", "POST", form=form)
    assert status == 400 and field in json.loads(body)["errors"]


def test_flush_disabled_bucket_says_so(server_factory):
    srv = server_factory()
    http(srv.rest_port, "/pools/default/buckets", "POST",
         form={"name": "noflush", "ramQuotaMB": "100"})
    status, _, body = http(srv.rest_port, "/pools/default/buckets/noflush/controller/doFlush",
                           "POST")
    assert status == 400 and json.loads(body) == {"_": "Flush is disabled for the bucket"}
    assert http(srv.rest_port, "/pools/default/buckets/nosuch/controller/doFlush", "POST")[0] == 404
    assert http(srv.rest_port, "/pools/default/buckets/noflush", "POST",
                form={"flushEnabled": "1"})[0] == 200
    assert http(srv.rest_port, "/pools/default/buckets/noflush/controller/doFlush",
                "POST")[0] == 200


def test_views_port_answers(server):
    assert http(server.views_port, "/", auth=None)[0] == 200
