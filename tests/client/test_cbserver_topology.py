"""Routing proofs with real cbserver nodes: NOT_MY_VBUCKET answered by a node for a
vBucket it does not have, the map in the reply or a pushed config adopted and the op
retried; a restarted cbserver reconnected; nothing keeps the connection alive."""
import sys
import threading
import time

import pytest

from support.config_server import ConfigServer, make_config
from couchbase import Couchbase
from couchbase.exceptions import (CouchbaseNetworkError, KeyExistsError, NotFoundError,
                                  NotMyVbucketError, TemporaryFailError)
from couchbase.protocol import vbucket_for_key


def _foreign_keys(prefix: str, wide: int, narrow: int, count: int) -> list[str]:
    """Keys whose vBucket in a ``wide`` map does not exist in a ``narrow`` one."""
    keys = []
    i = 0
    while len(keys) < count:
        key = f"{prefix}{i}"
        if vbucket_for_key(key.encode(), wide) >= narrow:
            keys.append(key)
        i += 1
    return keys


def _direct(node) -> Couchbase:
    return Couchbase.connect(bucket="default", host=node.host, port=node.rest_port)


def test_not_my_vbucket_reply_carries_the_map_that_is_adopted(server_factory):
    node = server_factory(vbuckets=64)
    stream = ConfigServer(make_config("default", [node.kv_port], [[0]] * 128, 0))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=stream.port)
        assert cb._router.config.num_vbuckets == 128
        key = _foreign_keys("nmvb-", 128, 64, 1)[0]
        assert cb.set(key, "routed").success
        assert cb._router.config.num_vbuckets == 64
        assert _direct(node).get(key).value == "routed"
    finally:
        stream.close()


def test_batch_with_foreign_vbuckets_is_retried(server_factory):
    node = server_factory(vbuckets=64)
    stream = ConfigServer(make_config("default", [node.kv_port], [[0]] * 128, 0))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=stream.port)
        keys = _foreign_keys("nmvb-multi-", 128, 64, 10) + ["nmvb-any-1", "nmvb-any-2"]
        assert cb.set_multi({k: k for k in keys}).all_ok
        assert {k: r.value for k, r in cb.get_multi(keys).items()} == {k: k for k in keys}
    finally:
        stream.close()


def test_not_my_vbucket_waits_for_a_pushed_config(server_factory):
    """The node's own map is older than the stream's: only a pushed config helps."""
    small = server_factory(vbuckets=64)
    big = server_factory(vbuckets=128)
    stream = ConfigServer(make_config("default", [small.kv_port, big.kv_port], [[0]] * 128, 100))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=stream.port, timeout=10)
        key = _foreign_keys("nmvb-push-", 128, 64, 1)[0]
        pusher = threading.Timer(0.2, stream.push,
                                 (make_config("default", [small.kv_port, big.kv_port],
                                              [[1]] * 128, 101),))
        pusher.start()
        try:
            assert cb.set(key, "on big").success
        finally:
            pusher.join()
        assert cb._router.config.rev == 101
        assert _direct(big).get(key).value == "on big"
        with pytest.raises(NotFoundError):
            _direct(small).get(key)
    finally:
        stream.close()


def test_not_my_vbucket_without_an_owner_fails_in_time(server_factory):
    node = server_factory(vbuckets=64)
    stream = ConfigServer(make_config("default", [node.kv_port], [[0]] * 128, 100))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=stream.port,
                               timeout=0.5)
        key = _foreign_keys("nmvb-none-", 128, 64, 1)[0]
        with pytest.raises(NotMyVbucketError) as info:
            cb.set(key, 1)
        assert info.value.rc == 0x11 and info.value.key == key
    finally:
        stream.close()


def test_two_nodes_each_get_their_vbuckets(server_factory):
    nodes = [server_factory(vbuckets=64), server_factory(vbuckets=64)]
    vbmap = [[i % 2] for i in range(64)]
    stream = ConfigServer(make_config("default", [n.kv_port for n in nodes], vbmap, 0))
    try:
        cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=stream.port)
        keys = [f"spread-{i}" for i in range(40)]
        assert cb.set_multi({k: i for i, k in enumerate(keys)}).all_ok
        direct = [_direct(n) for n in nodes]
        for i, key in enumerate(keys):
            owner = vbucket_for_key(key.encode(), 64) % 2
            assert direct[owner].get(key).value == i
            assert direct[1 - owner].get(key, quiet=True).rc == 0x0D
        assert cb.get_multi(keys).all_ok
        assert sorted(cb.stats()["curr_items"]) == sorted(
            f"127.0.0.1:{n.kv_port}" for n in nodes)
    finally:
        stream.close()


def test_restarted_server_is_reconnected(server_factory, tmp_path):
    first = server_factory(data_dir=str(tmp_path))
    ports = {"rest_port": first.rest_port, "kv_port": first.kv_port,
             "views_port": first.views_port}
    cb = Couchbase.connect(bucket="default", host=first.host, port=first.rest_port)
    cb.set("restart-before", 1)
    first.stop()
    with pytest.raises(CouchbaseNetworkError):
        cb.get("restart-before")
    second = server_factory(data_dir=str(tmp_path), **ports)
    deadline = time.monotonic() + 20
    while True:
        try:
            assert cb.get("restart-before").value == 1
            break
        except (CouchbaseNetworkError, TemporaryFailError):
            assert time.monotonic() < deadline, "the client never reconnected"
            time.sleep(0.05)
    assert cb.set("restart-after", 2).success
    assert _direct(second).get("restart-after").value == 2


def test_operations_keep_no_reference_to_the_connection(server, key_prefix):
    """1.0 code checks ``sys.getrefcount(conn) == 2`` after operations: results and
    exceptions (their tracebacks aside, which hold frames) must not own it."""
    cb = Couchbase.connect(bucket="default", host=server.host, port=server.rest_port)
    key = key_prefix + "k"
    kept = [cb.set(key, 1), cb.get(key), cb.set_multi({key + "m": 1}), cb.get_multi([key]),
            cb.observe(key), cb.incr(key + "n", initial=1), cb.stats()]
    locked = cb.lock(key, ttl=5)
    kept += [locked, cb.unlock(key, locked.cas)]
    for name, args in (("get", (key + "missing",)), ("add", (key, 2)),
                       ("get_multi", ([key, key + "missing"],))):
        try:
            getattr(cb, name)(*args)
        except (NotFoundError, KeyExistsError) as exc:
            kept.append(exc.with_traceback(None))
    assert len(kept) == 12
    assert sys.getrefcount(cb) == 2
