"""Pessimistic locking and OBSERVE against cbserver, with Couchbase 2.x semantics:
lock a locked key or unlock with a wrong CAS / an unlocked key -> TemporaryFailError,
a store on a locked key -> KeyExistsError, GET of a locked key shows CAS all-ones."""
import re
import time

import pytest

from couchbase import Couchbase, LOCKMODE_WAIT, OBS_FOUND, OBS_NOTFOUND, OBS_PERSISTED
from couchbase.exceptions import (ArgumentError, KeyExistsError, NotFoundError,
                                  TemporaryFailError)
from couchbase.result import MultiResult, ObserveInfo, ValueResult
from support.threads import run_threads

LOCKED_CAS = 0xFFFFFFFFFFFFFFFF
CAS = r"0x[0-9a-fA-F]+"


def test_lock_returns_the_value_and_a_new_cas(cb, key_prefix):
    key = key_prefix + "k"
    stored = cb.set(key, {"n": 1})
    locked = cb.lock(key, ttl=5)
    assert isinstance(locked, ValueResult)
    assert locked.value == {"n": 1} and locked.cas not in (0, stored.cas)
    assert re.fullmatch(rf"ValueResult<RC=0x0, Key={key}, Value={{'n': 1}}, CAS={CAS}, "
                        rf"Flags=0x0>", repr(locked))
    cb.unlock(key, locked.cas)


def test_locked_key_rules(cb, key_prefix):
    key = key_prefix + "k"
    cb.set(key, "v")
    locked = cb.lock(key, ttl=10)
    with pytest.raises(TemporaryFailError) as info:
        cb.lock(key, ttl=10)
    assert info.value.key == key and info.value.rc == 0x0B
    assert cb.get(key).cas == LOCKED_CAS
    with pytest.raises(KeyExistsError):
        cb.set(key, "other")
    with pytest.raises(TemporaryFailError):
        cb.unlock(key, locked.cas + 1)
    assert cb.unlock(key, locked.cas).success
    with pytest.raises(TemporaryFailError):
        cb.unlock(key, locked.cas)
    assert cb.get(key).value == "v"
    assert cb.set(key, "free").success


def test_set_with_the_lock_cas_unlocks(cb, key_prefix):
    key = key_prefix + "k"
    cb.set(key, 1)
    locked = cb.lock(key, ttl=10)
    assert cb.set(key, 2, cas=locked.cas).success
    assert cb.get(key).cas != LOCKED_CAS
    assert cb.lock(key, ttl=1).value == 2


def test_lock_argument_and_missing_key_errors(cb, key_prefix):
    with pytest.raises(ArgumentError):
        cb.lock(key_prefix + "k")
    with pytest.raises(NotFoundError):
        cb.lock(key_prefix + "missing", ttl=5)
    with pytest.raises(ArgumentError):
        cb.unlock(key_prefix + "k", 0)


def test_lock_multi_and_unlock_multi(cb, key_prefix):
    keys = [key_prefix + str(i) for i in range(5)]
    cb.set_multi({k: i for i, k in enumerate(keys)})
    locked = cb.lock_multi(keys, ttl=10)
    assert isinstance(locked, MultiResult) and locked.all_ok
    assert [locked[k].value for k in keys] == list(range(5))
    with pytest.raises(TemporaryFailError) as info:
        cb.lock_multi(keys, ttl=10)
    assert info.value.all_results.all_ok == 0 and len(info.value.all_results) == 5
    unlocked = cb.unlock_multi(locked)
    assert isinstance(unlocked, MultiResult) and unlocked.all_ok and len(unlocked) == 5
    again = cb.lock_multi({k: 3 for k in keys})
    assert cb.unlock_multi({k: r.cas for k, r in again.items()}).all_ok


def _lock_increment(conn, key: str) -> None:
    """Add one to the counter at ``key`` under the item lock (lock, then set with its CAS)."""
    while True:
        try:
            result = conn.lock(key, ttl=5)
            break
        except TemporaryFailError:
            time.sleep(0.001)
    try:
        conn.set(key, result.value + 1, cas=result.cas)
    except BaseException:
        conn.unlock(result.key, result.cas)
        raise


def test_pessimistic_loop_from_threads_loses_no_update(server, key_prefix):
    """The manual's add_friend with lock/set(cas): every increment lands."""
    key = key_prefix + "counter"
    threads, per_thread = 4, 25
    Couchbase.connect(bucket="default", host=server.host, port=server.rest_port).set(key, 0)

    def worker(_):
        conn = Couchbase.connect(bucket="default", host=server.host, port=server.rest_port)
        for _ in range(per_thread):
            _lock_increment(conn, key)

    run_threads(worker, threads)
    check = Couchbase.connect(bucket="default", host=server.host, port=server.rest_port)
    assert check.get(key).value == threads * per_thread


def test_pessimistic_loop_on_one_shared_connection(server, key_prefix):
    """LOCKMODE_WAIT lets threads share a connection; the lock loop still loses nothing."""
    key = key_prefix + "shared"
    conn = Couchbase.connect(bucket="default", host=server.host, port=server.rest_port,
                             lockmode=LOCKMODE_WAIT)
    conn.set(key, 0)

    def worker(_):
        for _ in range(20):
            _lock_increment(conn, key)

    run_threads(worker, 3)
    assert conn.get(key).value == 60


def test_observe_found_key(cb, key_prefix):
    key = key_prefix + "k"
    stored = cb.set(key, "v")
    result = cb.observe(key)
    assert isinstance(result, ValueResult) and result.success
    assert result.cas == stored.cas
    [info] = result.value
    assert isinstance(info, ObserveInfo)
    assert info.from_master and info.cas == stored.cas
    assert info.flags in (OBS_FOUND, OBS_PERSISTED)
    name = "OBS_FOUND" if info.flags == OBS_FOUND else "OBS_PERSISTED"
    assert repr(info) == (f"ObserveInfo<Status=[{name} (0x{info.flags:X})], Master=True, "
                          f"CAS=0x{stored.cas:X}>")
    with pytest.raises(TypeError):
        type("Sub", (ObserveInfo,), {})


def test_observe_missing_key_and_multi(cb, key_prefix):
    present, missing = key_prefix + "here", key_prefix + "gone"
    cb.set(present, 1)
    results = cb.observe_multi([present, missing])
    assert isinstance(results, MultiResult) and set(results) == {present, missing}
    assert results[present].value[0].flags in (OBS_FOUND, OBS_PERSISTED)
    [gone] = results[missing].value
    assert gone.flags == OBS_NOTFOUND and gone.from_master
    assert repr(gone).startswith("ObserveInfo<Status=[OBS_NOTFOUND (0x80)], Master=True, CAS=0x")
