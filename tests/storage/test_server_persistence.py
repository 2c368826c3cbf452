"""cbserver with a data directory: restart, warmup gate, OBSERVE, flush, delete, quota, REST."""
from __future__ import annotations

import json
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from contextlib import contextmanager

import pytest

from couchbase.protocol import ObserveState, Opcode, Status, encode_request

from cbserver.embedded import EmbeddedServer
from cbserver.storage import CorruptStoreError

from support.rawkv import KV

ADMIN = ("Administrator", "password")
GET_META = struct.Struct(">IIIQ")


@contextmanager
def running(data_dir, **options):
    """A started EmbeddedServer persisting to ``data_dir``, with a KV connection."""
    server = EmbeddedServer(data_dir=str(data_dir), admin=ADMIN, **options).start()
    kv = None
    try:
        server.wait_warm()
        kv = KV(server.kv_port)
        yield server, kv
    finally:
        if kv is not None:
            kv.close()
        server.stop()


def rest(server: EmbeddedServer, method: str, path: str, form: dict | None = None):
    """One admin REST call; returns (status, parsed JSON or text)."""
    data = None if form is None else urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{server.rest_port}{path}", data=data,
                                     method=method)
    request.add_header("Authorization", "Basic " + b64encode(":".join(ADMIN).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


def test_restart_brings_back_value_flags_cas_and_remaining_expiry(tmp_path) -> None:
    docs = {b"doc-%04d" % i: (b'{"n":%d}' % i, i % 5, 3600 if i % 2 else 0) for i in range(2000)}
    with running(tmp_path) as (server, kv):
        replies = kv.set_many(docs)
        assert all(reply.status == Status.SUCCESS for reply in replies.values())
        cas = {key: reply.cas for key, reply in replies.items()}
        metas = {key: GET_META.unpack(reply.extras)
                 for key, reply in kv.get_many(list(docs), Opcode.GET_META).items()}
    with running(tmp_path) as (server, kv):
        for key, reply in kv.get_many(list(docs)).items():
            assert reply.status == Status.SUCCESS, key
            assert (reply.value, struct.unpack(">I", reply.extras)[0], reply.cas) == \
                (docs[key][0], docs[key][1], cas[key])
        for key, reply in kv.get_many(list(docs), Opcode.GET_META).items():
            assert GET_META.unpack(reply.extras)[2] == metas[key][2]
            assert (metas[key][2] > time.time()) == bool(docs[key][2])
        fresh = kv.set_many({b"doc-0000": (b"new", 0, 0)})[b"doc-0000"]
        assert fresh.cas > max(cas.values())


def test_observe_goes_from_found_to_persisted_and_deletes_survive_restart(tmp_path) -> None:
    with running(tmp_path) as (server, kv):
        replies = kv.set_many({b"a": (b"1", 0, 0), b"b": (b"2", 0, 0)})
        persisted = kv.wait_persisted({key: reply.cas for key, reply in replies.items()})
        assert persisted == {b"a", b"b"}
        assert kv.delete(b"a").status == Status.SUCCESS
        deadline = time.monotonic() + 30
        while kv.observe([b"a"])[b"a"][0] != ObserveState.NOT_FOUND:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    with running(tmp_path) as (server, kv):
        replies = kv.get_many([b"a", b"b"])
        assert replies[b"a"].status == Status.KEY_ENOENT
        assert replies[b"b"].value == b"2"
        assert kv.observe([b"b"])[b"b"] == (ObserveState.PERSISTED, replies[b"b"].cas)


def test_flush_empties_memory_and_disk(tmp_path) -> None:
    with running(tmp_path) as (server, kv):
        kv.set_many({b"k%d" % i: (b"v", 0, 0) for i in range(100)})
        flush = kv.call([encode_request(Opcode.FLUSH)])[0]
        assert flush.status == Status.SUCCESS
        kv.set_many({b"after": (b"v", 0, 0)})
    with running(tmp_path) as (server, kv):
        replies = kv.get_many([b"k1", b"k99", b"after"])
        assert [reply.status for reply in replies.values()] == [Status.KEY_ENOENT,
                                                                Status.KEY_ENOENT, 0]


def test_buckets_created_over_rest_survive_and_deleted_ones_vanish(tmp_path) -> None:
    with running(tmp_path) as (server, kv):
        status, _ = rest(server, "POST", "/pools/default/buckets",
                         {"name": "kept", "ramQuotaMB": "100", "authType": "sasl",
                          "saslPassword": "pw", "flushEnabled": "1"})
        assert status == 202
        status, _ = rest(server, "POST", "/pools/default/buckets",
                         {"name": "doomed", "ramQuotaMB": "100", "authType": "sasl"})
        assert status == 202
        server.wait_warm()
        assert (tmp_path / "buckets" / "doomed" / "kv.sqlite3").exists()
        assert rest(server, "DELETE", "/pools/default/buckets/doomed")[0] == 200
        assert not (tmp_path / "buckets" / "doomed").exists()
    with running(tmp_path) as (server, kv):
        status, body = rest(server, "GET", "/pools/default/buckets")
        buckets = {bucket["name"]: bucket for bucket in body}
        assert set(buckets) == {"default", "kept"}
        assert buckets["kept"]["saslPassword"] == "pw"
        assert buckets["kept"]["quota"]["ram"] == 100 * 1024 * 1024


def test_warming_up_bucket_answers_etmpfail_and_rest_says_warmup(tmp_path) -> None:
    with running(tmp_path) as (server, kv):
        bucket = server.server.buckets["default"]
        server.call(setattr, bucket, "warming_up", True)
        assert kv.get_many([b"k"])[b"k"].status == Status.ETMPFAIL
        assert kv.stats()[1][b"ep_warmup_thread"] == b"running"
        status, body = rest(server, "GET", "/pools/default")
        assert body["nodes"][0]["status"] == "warmup"
        server.call(setattr, bucket, "warming_up", False)
        assert kv.get_many([b"k"])[b"k"].status == Status.KEY_ENOENT
        status, body = rest(server, "GET", "/pools/default")
        assert body["nodes"][0]["status"] == "healthy"
        assert body["dataStorage"]["dataDir"] == str(tmp_path.resolve())


def test_stat_reports_disk_queue_and_warmup(tmp_path) -> None:
    with running(tmp_path) as (server, kv):
        kv.set_many({b"s": (b"v", 0, 0)})
        status, stats = kv.stats()
        assert status == Status.SUCCESS
        assert stats[b"ep_warmup_thread"] == b"complete"
        assert int(stats[b"ep_queue_size"]) >= 0
        assert b"ep_total_persisted" in stats and b"ep_diskqueue_items" in stats


def test_writes_past_the_ram_quota_get_enomem_and_nothing_is_lost(tmp_path) -> None:
    value = b"x" * 50_000
    with running(tmp_path, ram_quota_mb=1) as (server, kv):
        replies = kv.set_many({b"big-%d" % i: (value, 0, 0) for i in range(40)})
        statuses = [reply.status for reply in replies.values()]
        assert Status.ENOMEM in statuses
        stored = [key for key, reply in replies.items() if reply.status == Status.SUCCESS]
        assert 10 <= len(stored) < 40
        assert statuses.index(Status.ENOMEM) == len(stored)
    with running(tmp_path, ram_quota_mb=1) as (server, kv):
        assert all(reply.status == 0 for reply in kv.get_many(stored).values())


def test_corrupt_database_refuses_to_start_naming_the_file(tmp_path) -> None:
    with running(tmp_path):
        pass
    path = tmp_path / "buckets" / "default" / "kv.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(CorruptStoreError, match=str(path)):
        EmbeddedServer(data_dir=str(tmp_path), admin=ADMIN).start()
