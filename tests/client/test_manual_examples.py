"""The manual's chapter 1 and 3/4 examples, with the printed reprs checked (CAS aside)."""
import re

import pytest

from couchbase import FMT_BYTES, FMT_PICKLE, FMT_UTF8, Couchbase
from couchbase.exceptions import CouchbaseError, KeyExistsError, NotFoundError, TemporaryFailError
from support.threads import run_threads

CAS = r"0x[0-9a-f]+"


def test_crud_example(cb, key_prefix):
    key = key_prefix + "demo_key"
    assert re.fullmatch(rf"OperationResult<RC=0x0, Key={key}, CAS={CAS}>", str(cb.set(key, "demo_value")))
    assert re.fullmatch(rf"ValueResult<RC=0x0, Key={key}, Value='demo_value', CAS={CAS}, Flags=0x0>",
                        str(cb.get(key)))
    with pytest.raises(CouchbaseError) as info:
        cb.add(key, "another value")
    assert str(info.value).startswith(
        f"<Key='{key}', RC=0xC[Key exists (with a different CAS value)], Operational Error, "
        f"Results=1, C Source=(")
    assert isinstance(info.value, KeyExistsError)
    cb.replace(key, "new value")
    assert cb.get(key).value == "new value"
    assert re.fullmatch(rf"OperationResult<RC=0x0, Key={key}, CAS={CAS}>", str(cb.delete(key)))
    with pytest.raises(CouchbaseError) as info:
        cb.get(key)
    assert str(info.value).startswith(f"<Key='{key}', RC=0xD[No such key], Operational Error, Results=1")
    assert cb.add(key, "added_value").success
    assert cb.get(key).value == "added_value"


def test_rc_to_exctype_example(cb, key_prefix):
    result = cb.get(key_prefix + "missing", quiet=True)
    assert not result.success
    assert CouchbaseError.rc_to_exctype(result.rc) is NotFoundError


def test_json_document_roundtrip(cb, key_prefix):
    value = {"this is a": "dictionary", "and this is a list": ["with", "some", "elements"],
             "and this is a tuple": ("with", "more", "elements"), "you can also use floats": 3.14,
             "integers": 42, "strings": "hello", "unicode": "\u05e9\u05dc\u05d5\u05dd!",
             "blobs": "\x00", "or a None": None}
    cb.set(key_prefix + "a_key", value)
    got = cb.get(key_prefix + "a_key").value
    assert got["and this is a tuple"] == ["with", "more", "elements"]
    assert got["unicode"] == "\u05e9\u05dc\u05d5\u05dd!"
    assert {k: v for k, v in got.items() if k != "and this is a tuple"} == \
        {k: v for k, v in value.items() if k != "and this is a tuple"}


def test_other_formats(cb, key_prefix):
    cb.set(key_prefix + "a_python_set", {1, 2, 3}, format=FMT_PICKLE)
    assert cb.get(key_prefix + "a_python_set").value == {1, 2, 3}
    assert cb.get(key_prefix + "a_python_set").flags == FMT_PICKLE
    cb.set(key_prefix + "blob", b"\x01\x02\x03\x04", format=FMT_BYTES)
    assert cb.get(key_prefix + "blob").value == b"\x01\x02\x03\x04"
    cb.set(key_prefix + "EXCALIBUR", "\u03EE", format=FMT_UTF8)
    assert re.fullmatch(rf"ValueResult<RC=0x0, Key={key_prefix}EXCALIBUR, Value='\u03EE', "
                        rf"CAS={CAS}, Flags=0x4>", str(cb.get(key_prefix + "EXCALIBUR")))


def test_counter_example(cb, key_prefix):
    key = key_prefix + "counter"
    assert cb.incr(key, initial=10).value == 10
    assert cb.incr(key).value == 11
    assert cb.decr(key, 5).value == 6
    assert cb.get(key).value == 6


def test_append_prepend_example(cb, key_prefix):
    key = key_prefix + "greeting"
    cb.set(key, "world", format=FMT_UTF8)
    cb.append(key, "!")
    cb.prepend(key, "Hello ")
    assert cb.get(key).value == "Hello world!"


def test_batched_exceptions_example(cb, key_prefix):
    keys = [key_prefix + k for k in ("a", "b")]
    cb.set(keys[0], 1)
    with pytest.raises(NotFoundError) as info:
        cb.get_multi(keys)
    results = info.value.all_results
    assert results[keys[0]].value == 1 and results[keys[0]].success
    assert not results[keys[1]].success
    assert not results.all_ok


def test_data_passthrough(cb, key_prefix):
    cb.set(key_prefix + "raw", {"a": 1})
    cb.data_passthrough = True
    result = cb.get(key_prefix + "raw")
    assert result.value == b'{"a": 1}'
    assert result.key == (key_prefix + "raw").encode()


def _friends_race(server, key, add_friend):
    """Four threads each add their friends through ``add_friend(conn, friend)``."""
    def connect():
        return Couchbase.connect(bucket="default", host=server.host, port=server.rest_port)

    connect().set(key, {"friends": {}})

    def worker(n):
        conn = connect()
        for i in range(10):
            add_friend(conn, f"friend-{n}-{i}")

    run_threads(worker, 4)
    assert sorted(connect().get(key).value["friends"]) == sorted(
        f"friend-{n}-{i}" for n in range(4) for i in range(10))


def test_add_friend_opportunistic_locking(server, key_prefix):
    """Manual 3.6.1: get, modify, set with the CAS, retry on KeyExistsError."""
    key = key_prefix + "user_id-1"

    def add_friend(c, friend):
        while True:
            result = c.get(key)
            result.value["friends"][friend] = {"added": 1}
            try:
                c.set(key, result.value, cas=result.cas)
                break
            except KeyExistsError:
                pass

    _friends_race(server, key, add_friend)


def test_add_friend_pessimistic_locking(server, key_prefix):
    """Manual 3.6.2: lock (retry on TemporaryFailError), modify, set with the lock CAS."""
    key = key_prefix + "user_id-2"

    def add_friend(c, friend):
        while True:
            try:
                result = c.lock(key, ttl=15)
                break
            except TemporaryFailError:
                pass
        try:
            result.value["friends"][friend] = {"added": 1}
            c.set(key, result.value, cas=result.cas)
        except BaseException:
            c.unlock(result.key, result.cas)
            raise

    _friends_race(server, key, add_friend)
