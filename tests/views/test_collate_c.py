"""The C sort keys are byte for byte the Python reference's, on every value, with the same
errors, the same order, the same string cache (one dict, cleared at the same size) and a
RecursionError instead of a crashed C stack on deep nesting; real ICU throughout."""
from __future__ import annotations

import enum
import math
import struct
import sys
import threading
from collections import OrderedDict
from decimal import Decimal
from types import ModuleType

import pytest
from hypothesis import given, settings, strategies as st

from cbserver.views import collation
from cbserver.views.collation import python_sort_key

pytest.importorskip("cbserver.views._collate")

#: Characters the generated strings are drawn from: every code point but surrogates, and
#: on purpose astral ones, combining marks and the letters they combine with.
CHARS = st.characters(blacklist_categories=("Cs",)) | st.sampled_from(
    "aAeE\u0301\u0308\u0327\u20dd\U0001f600\U0001d11e\U00010000\U0010fffd\u00e9\u00c5\u0000")
TEXTS = st.text(CHARS, max_size=8)
#: NaNs with every sign and payload, as json.loads never makes but Python code may.
NANS = st.integers(0, (1 << 52) - 1).flatmap(
    lambda payload: st.sampled_from([0x7FF8 << 48 | payload, 0xFFF8 << 48 | payload,
                                     0x7FF0 << 48 | payload or 1])
).map(lambda bits: struct.unpack(">d", struct.pack(">Q", bits))[0])
NUMBERS = (st.integers() | st.integers(min_value=1 << 1020, max_value=1 << 1100)
           | st.integers(min_value=-(1 << 1100), max_value=-(1 << 1020))
           | st.floats() | NANS | st.sampled_from([0.0, -0.0, math.inf, -math.inf, 0, -1]))
SCALARS = st.none() | st.booleans() | NUMBERS | TEXTS
VALUES = st.recursive(
    SCALARS,
    lambda children: (st.lists(children, max_size=4) | st.lists(children, max_size=4).map(tuple)
                      | st.dictionaries(TEXTS, children, max_size=4)),
    max_leaves=20)


class Text(str):
    """A str subclass: refused like every other subclass."""


class Number(int):
    """An int subclass: refused."""


class Items(list):
    """A list subclass: refused."""


class Color(enum.IntEnum):
    """An IntEnum (an int subclass): refused."""

    RED = 1


class BadRepr:
    """An unsupported value whose repr raises: the repr's error escapes."""

    def __repr__(self) -> str:
        raise ValueError("no repr for you")


UNSUPPORTED = [object(), b"bytes", bytearray(b"x"), {1, 2}, frozenset(), 1j, Decimal("1.5"),
               Text("a"), Number(3), Items([1]), OrderedDict(a=1), Color.RED, BadRepr(),
               [1, "a", {"x": [None, b"deep"]}], {"a": {"b": (1, object)}}, (1, {2})]
#: Objects whose member names are not strings: both hand them to the ICU key function.
ODD_NAMES = [{1: 2}, {None: 1}, {(1, 2): 3}, {Text("sub"): 1}, {"a": 1, 2.5: 2}]


@pytest.fixture(scope="module")
def c_collate() -> ModuleType:
    """The C module, configured with collation.py's cache and key function."""
    module = collation.load_c()
    assert module is not None
    return module


def outcome(function, value) -> tuple:
    """The bytes ``function`` returns for ``value``, or the type and text of its error."""
    try:
        return ("ok", function(value))
    except Exception as exc:  # noqa: BLE001 - the very exception is compared
        return (type(exc), str(exc))


@settings(max_examples=600, deadline=None)
@given(VALUES)
def test_the_c_keys_are_the_python_keys(c_collate, value):
    assert c_collate.sort_key(value) == python_sort_key(value)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_cold_cache_keys_are_the_same(c_collate, value):
    collation._string_cache.clear()
    c_key = c_collate.sort_key(value)
    collation._string_cache.clear()
    assert c_key == python_sort_key(value)


def test_edge_numbers_encode_the_same(c_collate):
    numbers = [0, -0.0, 0.0, 1, -1, 2 ** 53 + 1, 10 ** 308, 10 ** 309, -(10 ** 309), 2 ** 1024,
               -(2 ** 1024), 2 ** 1024 - 1, 5e-324, -5e-324, math.inf, -math.inf, math.nan,
               -math.nan, True, False, None, sys.float_info.max, -sys.float_info.max]
    for number in numbers:
        assert c_collate.sort_key(number) == python_sort_key(number), number
    assert c_collate.sort_key(-0.0) == c_collate.sort_key(0)
    assert c_collate.sort_key(10 ** 400) == c_collate.sort_key(math.inf)


@pytest.mark.parametrize("value", UNSUPPORTED, ids=lambda v: type(v).__name__)
def test_unsupported_values_raise_the_same_error(c_collate, value):
    expected = outcome(python_sort_key, value)
    assert expected[0] != "ok"
    assert outcome(c_collate.sort_key, value) == expected


@pytest.mark.parametrize("value", ODD_NAMES, ids=str)
def test_odd_member_names_end_the_same(c_collate, value):
    collation._string_cache.clear()
    expected = outcome(python_sort_key, value)
    collation._string_cache.clear()
    assert outcome(c_collate.sort_key, value) == expected


def test_a_subclass_error_names_the_type_and_value(c_collate):
    with pytest.raises(TypeError, match=r"^cannot collate a value of type Text: 'a'$"):
        c_collate.sort_key(Text("a"))
    with pytest.raises(TypeError, match=r"^cannot collate a value of type bytes: b'deep'$"):
        c_collate.sort_key([{"x": [b"deep"]}])


@settings(max_examples=100, deadline=None)
@given(st.lists(VALUES, min_size=2, max_size=30))
def test_sorting_by_c_keys_is_sorting_by_python_keys(c_collate, values):
    assert sorted(values, key=c_collate.sort_key) == sorted(values, key=python_sort_key)


def test_the_documented_order_holds_with_c_keys(c_collate):
    ordered = [None, False, True, -math.inf, -1e300, -2, -1.5, 0, 1, 1.5, 1e300, math.inf,
               "", "\U0001f600", "1", "a", "A", "á", "Á", "aa", "b", [], [None], [1], [1, 2], [2],
               ["a"], [[]], {}, {"a": 1}, {"a": 1, "b": 2}, {"a": 2}, {"b": 1}]
    assert sorted(reversed(ordered), key=c_collate.sort_key) == ordered


def nested(depth: int, container: str) -> object:
    """A value nested ``depth`` levels deep in lists, tuples or objects."""
    wrap = {"list": lambda inner: [inner], "tuple": lambda inner: (inner,),
            "dict": lambda inner: {"k": inner}}[container]
    value: object = "leaf"
    for _ in range(depth):
        value = wrap(value)
    return value


@pytest.mark.parametrize("container", ["list", "tuple", "dict"])
def test_deep_nesting_raises_recursion_error_in_both(c_collate, container):
    shallow = nested(100, container)
    assert c_collate.sort_key(shallow) == python_sort_key(shallow)
    deep = nested(100_000, container)
    with pytest.raises(RecursionError):
        python_sort_key(deep)
    with pytest.raises(RecursionError):
        c_collate.sort_key(deep)


def test_deep_nesting_in_a_thread_with_a_small_stack(c_collate):
    deep, errors = nested(sys.getrecursionlimit() * 4, "list"), []

    def run() -> None:
        try:
            c_collate.sort_key(deep)
        except RecursionError as exc:
            errors.append(exc)

    previous = threading.stack_size(512 * 1024)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous)
    assert len(errors) == 1


def test_top_level_strings_return_the_cached_object(c_collate):
    collation._string_cache.clear()
    key = c_collate.sort_key("cached text")
    assert collation._string_cache["cached text"] is key
    assert python_sort_key("cached text") is key
