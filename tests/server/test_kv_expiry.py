"""Expiry: relative up to 30 days, absolute Unix time beyond, TOUCH/GAT, the pager."""
from __future__ import annotations

import time

import pytest
from support.clocks import install_clock

from couchbase.protocol import Opcode, Status
from couchbase.protocol.extras import pack_store, unpack_u32
from support.rawkv import KV, unique_key

#: Every test runs once with the C and once with the Python fast path serving.
pytestmark = pytest.mark.usefixtures("fast_path_implementation")

THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture
def clocked(server_factory):
    srv = server_factory()
    clock = install_clock(srv)
    with KV(srv.kv_port) as kv:
        yield srv, clock, kv


def test_relative_expiry(clocked):
    _, clock, kv = clocked
    key = unique_key()
    kv.set(key, b"v", exp=10)
    clock.advance(9)
    assert kv.get(key).status == Status.SUCCESS
    clock.advance(2)
    assert kv.get(key).status == Status.KEY_ENOENT


def test_thirty_days_is_still_relative(clocked):
    _, clock, kv = clocked
    key = unique_key()
    kv.set(key, b"v", exp=THIRTY_DAYS)
    clock.advance(THIRTY_DAYS - 1)
    assert kv.get(key).status == Status.SUCCESS
    clock.advance(2)
    assert kv.get(key).status == Status.KEY_ENOENT


def test_absolute_expiry_beyond_thirty_days(clocked):
    _, clock, kv = clocked
    future, past = unique_key(), unique_key()
    kv.set(future, b"v", exp=int(clock.now) + 100)
    kv.set(past, b"v", exp=THIRTY_DAYS + 1)
    assert kv.get(past).status == Status.KEY_ENOENT
    clock.advance(98)
    assert kv.get(future).status == Status.SUCCESS
    clock.advance(3)
    assert kv.get(future).status == Status.KEY_ENOENT


def test_touch_and_gat_change_expiry(clocked):
    _, clock, kv = clocked
    key = unique_key()
    kv.set(key, b"v", flags=4, exp=5)
    assert kv.touch(key, 100).status == Status.SUCCESS
    clock.advance(50)
    reply = kv.touch(key, 10, Opcode.GAT)
    assert reply.value == b"v" and unpack_u32(reply.extras) == 4
    clock.advance(11)
    assert kv.get(key).status == Status.KEY_ENOENT


def test_expired_item_behaves_as_missing_for_every_operation(clocked):
    _, clock, kv = clocked
    key = unique_key()
    kv.set(key, b"5", exp=1)
    clock.advance(3)
    assert kv.set(key, b"x", opcode=Opcode.REPLACE).status == Status.KEY_ENOENT
    assert kv.request(Opcode.APPEND, key, value=b"x").status == Status.NOT_STORED
    assert kv.arith(key, 1, exp=0xFFFFFFFF).status == Status.KEY_ENOENT
    assert kv.set(key, b"x", opcode=Opcode.ADD).status == Status.SUCCESS


def test_counter_created_with_expiry(clocked):
    _, clock, kv = clocked
    key = unique_key()
    kv.arith(key, 1, initial=7, exp=5)
    clock.advance(6)
    assert kv.get(key).status == Status.KEY_ENOENT


def test_pager_removes_expired_items_nobody_reads(clocked):
    srv, clock, kv = clocked
    keys = [unique_key() for _ in range(5)]
    for key in keys:
        kv.set(key, b"v", exp=2)
    kv.set(unique_key(), b"stays")
    clock.advance(5)
    bucket = srv.server.buckets["default"]
    assert srv.call(bucket.purge_expired) == 5
    assert srv.call(len, bucket) == 1


def test_expiry_in_real_time(kv):
    key = unique_key()
    kv.request(Opcode.SET, key, pack_store(0, 1), b"v")
    time.sleep(2.1)
    assert kv.get(key).status == Status.KEY_ENOENT
