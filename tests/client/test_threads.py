"""Lock modes (spec 3): EXC refuses a second thread, WAIT queues it, NONE has no
lock; CAS loops from several threads lose no update."""
import threading

import pytest

from couchbase import Couchbase, LOCKMODE_NONE, LOCKMODE_WAIT
from couchbase.exceptions import KeyExistsError, ObjectThreadError
from support.threads import run_threads


def _connect(server, **kwargs):
    return Couchbase.connect(bucket="default", host=server.host, port=server.rest_port, **kwargs)


def _in_thread(func):
    outcome = {}

    def run():
        try:
            outcome["value"] = func()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_lockmode_exc_refuses_a_second_thread(cb, key_prefix):
    cb._thr_lockop(0)
    try:
        thread, outcome = _in_thread(lambda: cb.set(key_prefix + "k", 1))
        thread.join(10)
    finally:
        cb._thr_lockop(1)
    assert isinstance(outcome.get("error"), ObjectThreadError)
    assert cb.set(key_prefix + "k", 1).success


def test_lockmode_wait_queues_the_second_thread(server, key_prefix):
    cb = _connect(server, lockmode=LOCKMODE_WAIT)
    cb._thr_lockop(0)
    thread, outcome = _in_thread(lambda: cb.set(key_prefix + "k", 1))
    thread.join(0.2)
    assert thread.is_alive() and not outcome
    cb._thr_lockop(1)
    thread.join(10)
    assert outcome["value"].success


def test_lockmode_none_has_no_lock(server):
    cb = _connect(server, lockmode=LOCKMODE_NONE)
    with pytest.raises(ObjectThreadError):
        cb._thr_lockop(0)


def _cas_increment(cb, key: str) -> None:
    """Add one to the counter at ``key`` with a CAS retry loop."""
    while True:
        current = cb.get(key)
        try:
            cb.set(key, current.value + 1, cas=current.cas)
            return
        except KeyExistsError:
            continue


def test_optimistic_cas_loop_loses_no_update(server, key_prefix):
    key = key_prefix + "cas-counter"
    cb = _connect(server, lockmode=LOCKMODE_WAIT)
    cb.set(key, 0)
    per_thread, threads = 50, 4

    def worker(_):
        for _ in range(per_thread):
            _cas_increment(cb, key)

    run_threads(worker, threads)
    assert cb.get(key).value == per_thread * threads


def test_connection_per_thread_cas_loop(server, key_prefix):
    key = key_prefix + "cas-counter"
    _connect(server).set(key, 0)
    per_thread, threads = 30, 4

    def worker(_):
        cb = _connect(server)
        for _ in range(per_thread):
            _cas_increment(cb, key)

    run_threads(worker, threads)
    assert _connect(server).get(key).value == per_thread * threads
