"""Argument validation (spec 3 "Common argument rules"): raised before anything is sent."""
import pytest

from couchbase import FMT_UTF8
from couchbase.exceptions import ArgumentError, ValueFormatError


@pytest.mark.parametrize("key", [b"bytes", 1, True, None, ("t",), ["l"], {"d": 1}, {1}, object()])
def test_bad_keys(cb, key):
    with pytest.raises(ValueFormatError):
        cb.get(key)
    with pytest.raises(ValueFormatError):
        cb.set(key, 1)


def test_empty_key(cb):
    with pytest.raises(ArgumentError):
        cb.set("", 1)


@pytest.mark.parametrize("ttl", ["1", [1], {}, object(), -1, 2 ** 64])
def test_bad_ttl(cb, ttl):
    with pytest.raises(ArgumentError):
        cb.set("ttl-key", 1, ttl=ttl)
    with pytest.raises(ArgumentError):
        cb.get_multi(["a"], ttl=ttl)


def test_ttl_checked_before_keys(cb):
    with pytest.raises(ArgumentError):
        cb.get(b"bad key", ttl="bad ttl")


@pytest.mark.parametrize("keys", [[], (), {}, "abc", None])
def test_bad_key_collections(cb, keys):
    with pytest.raises(ArgumentError):
        cb.get_multi(keys)


def test_short_iterator(cb):
    class Liar:
        def __len__(self):
            return 3

        def __iter__(self):
            return iter(["a"])

    with pytest.raises(ArgumentError):
        cb.get_multi(Liar())


def test_set_multi_needs_a_dict(cb):
    with pytest.raises(ArgumentError):
        cb.set_multi(["a", "b"])


def test_lock_needs_ttl_and_unlock_needs_cas(cb):
    with pytest.raises(ArgumentError):
        cb.lock("k")
    with pytest.raises(ArgumentError):
        cb.unlock("k", 0)
    with pytest.raises(ArgumentError):
        cb.unlock_multi(["a", "b"])


def test_bad_cas_and_format(cb):
    with pytest.raises(ArgumentError):
        cb.set("k", 1, cas="x")
    with pytest.raises(ArgumentError):
        cb.set("k", 1, format="json")
    with pytest.raises(ValueFormatError):
        cb.set("k", b"bytes", format=FMT_UTF8)
    with pytest.raises(ValueFormatError):
        cb.set("k", object())
