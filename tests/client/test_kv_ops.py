"""Key-value operations by family against live data nodes: store, get, touch,
delete, arithmetic, stats, item syntax, quiet, multi forms and the section 8 rows."""
import pytest

from couchbase import FMT_BYTES, FMT_JSON, FMT_UTF8
from couchbase.exceptions import (ArgumentError, DeltaBadvalError, KeyExistsError, NotFoundError,
                                  NotStoredError, ValueFormatError)
from couchbase.result import Arguments, MultiResult, OperationResult, ValueResult


def test_set_get_with_cas(cb, key_prefix):
    key = key_prefix + "k"
    first = cb.set(key, "v1")
    assert isinstance(first, OperationResult) and first.cas
    assert cb.set(key, "v2", cas=first.cas).success
    with pytest.raises(KeyExistsError):
        cb.set(key, "v3", cas=first.cas)
    with pytest.raises(KeyExistsError):
        cb.replace(key, "v3", cas=first.cas)
    with pytest.raises(KeyExistsError):
        cb.delete(key, cas=first.cas)
    assert cb.get(key).value == "v2"


def test_add_replace(cb, key_prefix):
    key = key_prefix + "k"
    with pytest.raises(NotFoundError):
        cb.replace(key, 1)
    cb.add(key, 1)
    with pytest.raises(KeyExistsError):
        cb.add(key, 2)
    cb.replace(key, 3)
    assert cb.get(key).value == 3


def test_append_prepend_rules(cb, key_prefix):
    key = key_prefix + "k"
    with pytest.raises(NotStoredError):
        cb.append(key, "x")
    with pytest.raises(NotStoredError):
        cb.prepend(key, "x")
    cb.set(key, b"ab", format=FMT_BYTES)
    cb.append(key, b"c", format=FMT_BYTES)
    assert cb.get(key).value == b"abc"
    with pytest.raises(ArgumentError):
        cb.append(key, "x", format=FMT_JSON)


def test_get_missing_and_quiet(cb, key_prefix):
    key = key_prefix + "missing"
    with pytest.raises(NotFoundError) as info:
        cb.get(key)
    assert info.value.key == key and info.value.rc == 0xD
    result = cb.get(key, quiet=True)
    assert isinstance(result, ValueResult) and result.value is None and result.rc == 0xD
    cb.quiet = True
    assert not cb.get(key).success
    assert not cb.delete(key).success
    assert not cb.touch(key, ttl=5).success
    with pytest.raises(NotFoundError):
        cb.incr(key)     # arithmetic is never quiet


def test_delete_and_touch_missing(cb, key_prefix):
    with pytest.raises(NotFoundError):
        cb.delete(key_prefix + "nope")
    with pytest.raises(NotFoundError):
        cb.touch(key_prefix + "nope", ttl=10)


def test_get_and_touch(cb, key_prefix):
    key = key_prefix + "k"
    cb.set(key, "v", ttl=100)
    assert cb.get(key, ttl=200).value == "v"
    assert cb.touch(key, ttl=300).success


def test_multi_forms(cb, key_prefix):
    items = {key_prefix + str(i): i for i in range(50)}
    stored = cb.set_multi(items)
    assert isinstance(stored, MultiResult) and stored.all_ok == 1 and len(stored) == 50
    got = cb.get_multi(list(items) + [key_prefix + "none"], quiet=True)
    assert {k: r.value for k, r in got.items() if r.success} == items
    assert got.all_ok == 0
    assert cb.touch_multi({k: 100 for k in items}).all_ok
    assert cb.get_multi({k: 50 for k in items}).all_ok
    with pytest.raises(ArgumentError):
        cb.get_multi({k: 50 for k in items}, ttl=5)
    with pytest.raises(KeyExistsError):    # a touch gives the item a new CAS (2.x)
        cb.delete_multi(stored)
    current = cb.get_multi(list(items))
    deleted = cb.delete_multi(current)     # a MultiResult gives the CAS values
    assert deleted.all_ok
    with pytest.raises(NotFoundError):
        cb.get_multi(list(items))


def test_add_replace_append_prepend_multi(cb, key_prefix):
    keys = {key_prefix + "a": "1", key_prefix + "b": "2"}
    assert cb.add_multi(keys, format=FMT_UTF8).all_ok
    assert cb.replace_multi(keys, format=FMT_UTF8).all_ok
    assert cb.append_multi({k: "x" for k in keys}).all_ok
    assert cb.prepend_multi({k: "y" for k in keys}).all_ok
    assert [r.value for r in cb.get_multi(list(keys)).values()] == ["y1x", "y2x"]


def test_set_multi_arguments(cb, key_prefix):
    key = key_prefix + "k"
    first = cb.set(key, 1)
    with pytest.raises(KeyExistsError):
        cb.set_multi({key: Arguments(value=2, cas=first.cas + 1)})
    assert cb.set_multi({key: Arguments(value=3, cas=first.cas, ttl=100)}).all_ok
    assert cb.get(key).value == 3


def test_arithmetic(cb, key_prefix):
    key = key_prefix + "n"
    with pytest.raises(NotFoundError):
        cb.incr(key)
    assert cb.incr(key, initial=5, amount=100).value == 5
    assert cb.incr(key, 10).value == 15
    assert cb.decr(key, 100).value == 0
    assert cb.arithmetic(key, 7).value == 7
    assert cb.arithmetic(key, -2).value == 5
    multi = cb.incr_multi({key: 5, key_prefix + "m": {"delta": 1, "initial": 40}})
    assert multi[key].value == 10 and multi[key_prefix + "m"].value == 40
    assert cb.decr_multi([key], amount=3)[key].value == 7
    cb.set(key_prefix + "text", "abc")
    with pytest.raises(DeltaBadvalError):
        cb.incr(key_prefix + "text")


def test_item_syntax(cb, key_prefix):
    key = key_prefix + "item"
    cb[key] = {"x": 1}
    assert cb[key].value == {"x": 1}
    del cb[key]
    with pytest.raises(NotFoundError):
        cb[key]


def test_duplicate_keys_warn(cb, key_prefix):
    key = key_prefix + "dup"
    cb.set(key, 1)
    with pytest.warns(RuntimeWarning):
        results = cb.get_multi([key, key])
    assert len(results) == 1


def test_undecodable_value_is_value_format_error(cb, key_prefix):
    key = key_prefix + "junk"
    cb.set(key, "x")
    cb.append(key, "junk")
    with pytest.raises(ValueFormatError) as info:
        cb.get(key)
    assert key in info.value.all_results


def test_stats(cb):
    stats = cb.stats()
    assert "pid" in stats
    assert all(isinstance(v, int) for v in stats["pid"].values())
    assert cb.stats("settings")
