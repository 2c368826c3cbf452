"""The string cache is one dict shared by the C and Python sort keys: each finds what the
other stored, both start it over when it reaches its size, and a failing ICU key
function leaves it the same way in both."""
from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from cbserver.views import collation
from cbserver.views.collation import python_sort_key

pytest.importorskip("cbserver.views._collate")

SMALL = 4


@pytest.fixture
def c_collate(monkeypatch) -> Iterator[ModuleType]:
    """The C module over an empty cache; configured again as loaded after the test."""
    module = collation.load_c()
    assert module is not None
    collation._string_cache.clear()
    yield module
    monkeypatch.undo()
    collation.configure_c(module)
    collation._string_cache.clear()


@pytest.fixture
def small_cache(c_collate, monkeypatch) -> ModuleType:
    """The C module with both implementations clearing the cache at SMALL strings."""
    monkeypatch.setattr(collation, "STRING_CACHE_SIZE", SMALL)
    collation.configure_c(c_collate)
    return c_collate


def test_each_implementation_reuses_the_keys_the_other_cached(c_collate):
    c_key = c_collate.sort_key("from C")
    assert collation._string_cache == {"from C": c_key}
    assert python_sort_key("from C") is c_key
    py_key = python_sort_key({"name": "from Python"})
    assert set(collation._string_cache) == {"from C", "name", "from Python"}
    assert c_collate.sort_key("from Python") is collation._string_cache["from Python"]
    assert c_collate.sort_key({"name": "from Python"}) == py_key


def test_a_cached_key_is_used_as_it_is(c_collate):
    collation._string_cache["planted"] = b"\x05planted key"
    assert c_collate.sort_key(["planted"]) == b"\x06\x05planted key\x00"
    assert c_collate.sort_key("planted") == python_sort_key("planted") == b"\x05planted key"


def run_words(sort_key, words) -> list[dict]:
    """The cache's contents after each word is given to ``sort_key``."""
    collation._string_cache.clear()
    states = []
    for word in words:
        sort_key(word)
        states.append(dict(collation._string_cache))
    return states


def test_both_clear_the_cache_at_the_same_size(small_cache):
    words = ["a", "b", "a", "c", ["d", "b"], {"e": "f"}, "g", "a", ["h", "i", "j", "k", "l"]]
    c_states = run_words(small_cache.sort_key, words)
    py_states = run_words(python_sort_key, words)
    assert c_states == py_states
    assert max(len(state) for state in c_states) == SMALL
    assert list(c_states[4]) == ["a", "b", "c", "d"]
    assert list(c_states[5]) == ["e", "f"]  # full at "e": cleared before its key


def test_a_cache_of_size_zero_holds_the_last_string_only(small_cache, monkeypatch):
    monkeypatch.setattr(collation, "STRING_CACHE_SIZE", 0)
    collation.configure_c(small_cache)
    words = ["x", ["y", "z"], "x"]
    assert run_words(small_cache.sort_key, words) == run_words(python_sort_key, words)
    assert list(collation._string_cache) == ["x"]


class KeyFailure(Exception):
    """What the failing key function raises."""


def failing_key(text: str) -> bytes:
    """An ICU key function that fails on one string."""
    if text == "boom":
        raise KeyFailure(f"no key for {text!r}")
    return collation._make_string_key()(text)


def test_a_failing_key_function_fails_both_the_same_way(small_cache, monkeypatch):
    monkeypatch.setattr(collation, "_string_key", failing_key)
    collation.configure_c(small_cache)
    for sort_key in (small_cache.sort_key, python_sort_key):
        collation._string_cache.clear()
        for word in "abcd":
            sort_key(word)
        with pytest.raises(KeyFailure, match="no key for 'boom'"):
            sort_key(["fine", {"x": "boom"}])
        assert list(collation._string_cache) == ["fine", "x"]


def odd_key(text: str) -> bytearray:
    """A key function answering a bytes-like object that is not bytes."""
    return bytearray(text.encode())


def test_a_bytes_like_icu_key_is_stored_as_bytes_by_both(c_collate, monkeypatch):
    monkeypatch.setattr(collation, "_string_key", odd_key)
    collation.configure_c(c_collate)
    assert c_collate.sort_key(["odd"]) == python_sort_key(["odd"]) == b"\x06\x05odd\x00"
    assert type(collation._string_cache["odd"]) is bytes


def test_configure_checks_its_arguments(c_collate):
    with pytest.raises(TypeError, match="string cache must be a dict, not list"):
        c_collate.configure([], str, 1)
    with pytest.raises(TypeError, match="string_key must be callable, not int"):
        c_collate.configure({}, 1, 1)
    with pytest.raises(TypeError):
        c_collate.configure({}, str, "big")
    with pytest.raises(TypeError, match="exactly 3 arguments"):
        c_collate.configure({}, str)
