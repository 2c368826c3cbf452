"""GET_LOCKED / UNLOCK_KEY with the Couchbase 2.x semantics of protocol.md 2.3."""
from __future__ import annotations

import pytest
from support.clocks import install_clock

from couchbase.protocol import LOCKED_CAS, Opcode, Status
from couchbase.protocol.extras import pack_u32
from support.rawkv import KV, unique_key

#: Every test runs once with the C and once with the Python fast path serving.
pytestmark = pytest.mark.usefixtures("fast_path_implementation")


@pytest.fixture
def locked(kv):
    """(connection, key, lock cas) of a freshly locked item with value b"v"."""
    key = unique_key("lock")
    kv.set(key, b"v", flags=3)
    reply = kv.getl(key, 10)
    assert reply.status == Status.SUCCESS and reply.value == b"v"
    assert pack_u32(3) == reply.extras
    return kv, key, reply.cas


def test_getl_gives_a_new_cas(kv):
    key = unique_key()
    set_cas = kv.set(key, b"v").cas
    assert kv.getl(key).cas not in (set_cas, 0, LOCKED_CAS)


def test_plain_get_of_locked_item_hides_cas(locked):
    kv, key, _ = locked
    reply = kv.get(key)
    assert reply.status == Status.SUCCESS and reply.value == b"v" and reply.cas == LOCKED_CAS


@pytest.mark.parametrize("operation, status", [
    (lambda kv, key: kv.set(key, b"w"), Status.KEY_EEXISTS),
    (lambda kv, key: kv.set(key, b"w", opcode=Opcode.REPLACE), Status.KEY_EEXISTS),
    (lambda kv, key: kv.request(Opcode.APPEND, key, value=b"w"), Status.KEY_EEXISTS),
    (lambda kv, key: kv.request(Opcode.PREPEND, key, value=b"w"), Status.KEY_EEXISTS),
    (lambda kv, key: kv.delete(key), Status.ETMPFAIL),
    (lambda kv, key: kv.touch(key, 10), Status.KEY_EEXISTS),
    (lambda kv, key: kv.touch(key, 10, Opcode.GAT), Status.KEY_EEXISTS),
    (lambda kv, key: kv.getl(key), Status.ETMPFAIL),
    (lambda kv, key: kv.set(key, b"w", opcode=Opcode.ADD), Status.KEY_EEXISTS),
])
def test_operations_on_a_locked_item(locked, operation, status):
    kv, key, _ = locked
    assert operation(kv, key).status == status
    assert kv.get(key).value == b"v"


def test_unlock_rules(locked):
    kv, key, cas = locked
    assert kv.unlock(key, cas + 1).status == Status.ETMPFAIL
    assert kv.unlock(key, cas).status == Status.SUCCESS
    assert kv.unlock(key, cas).status == Status.ETMPFAIL
    assert kv.unlock(unique_key(), 1).status == Status.KEY_ENOENT
    assert kv.getl(unique_key()).status == Status.KEY_ENOENT
    assert kv.set(key, b"after").status == Status.SUCCESS


def test_mutation_with_lock_cas_succeeds_and_unlocks(locked):
    kv, key, cas = locked
    reply = kv.set(key, b"new", cas=cas)
    assert reply.status == Status.SUCCESS
    assert kv.get(key).cas == reply.cas
    assert kv.set(key, b"newer").status == Status.SUCCESS


def test_delete_with_lock_cas_succeeds(locked):
    kv, key, cas = locked
    assert kv.delete(key, cas).status == Status.SUCCESS
    assert kv.get(key).status == Status.KEY_ENOENT


@pytest.mark.parametrize("asked, held", [(0, 15), (5, 5), (30, 30), (31, 15), (3600, 15)])
def test_lock_times_default_15_max_30(server_factory, asked, held):
    srv = server_factory()
    clock = install_clock(srv)
    with KV(srv.kv_port) as kv:
        key = unique_key()
        kv.set(key, b"v")
        kv.getl(key, asked)
        clock.advance(held - 0.5)
        assert kv.set(key, b"w").status == Status.KEY_EEXISTS
        clock.advance(1)
        assert kv.set(key, b"w").status == Status.SUCCESS


def test_lock_expires_by_itself_in_real_time(kv):
    import time
    key = unique_key()
    kv.set(key, b"v")
    kv.getl(key, 1)
    time.sleep(1.3)
    assert kv.get(key).cas != LOCKED_CAS
    assert kv.set(key, b"w").status == Status.SUCCESS
