"""The C ICU sort keys are byte for byte PyICU's on every text (surrogates, astral
characters, NUL, long texts, the beer-sample strings), refuse what is not a str, leak
nothing, are safe from many threads, and are what collation uses unless
CBSERVER_PURE_PYTHON is set or the extension is missing; the source compiles cleanly."""
from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import icu
import pytest
from hypothesis import given, settings, strategies as st
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)
from support.threads import run_threads

from cbserver.pure_python import pure_python_requested
from cbserver.views import collation

from .conftest import BEER_DIR

SOURCE = Path(collation.__file__).with_name("_icu_key.c")
WHICH = ("from cbserver.views import collation, _icu_key;"
         "print(collation._string_key is _icu_key.root_sort_key)")
#: Characters of the generated texts: every code point, lone surrogates included, and on
#: purpose the ones whose UTF-16 form or key is special.
CHARS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()) | (
    st.sampled_from("\x00a\u00e9\u00ff\u0301\ud800\udbff\udc00\udfff\ufffd\uffff"
                    "\U00010000\U0001f600\U0010ffff\ufdfa"))
SHORT_TEXTS = st.text(CHARS, max_size=40)
#: Texts over 1000 characters, past both stack buffers of the C function.
#: U+FDFA, a ligature whose key takes over 40 bytes: a text of it outgrows every first guess.
WIDE = "\ufdfa"
LONG_TEXTS = st.text(CHARS, min_size=1, max_size=12).map(lambda part: part * (1001 // len(part) + 1))
CALLS = 2_000
#: Bytes the traced heap may grow by over a loop of calls: one leaked key per call would
#: take tens of kilobytes.
GROWTH_LIMIT = 16 * 1024


class Text(str):
    """A str subclass: a str like any other."""


def pyicu_key() -> Callable[[str], bytes]:
    """PyICU's root-locale tertiary sort key function, the reference."""
    collator = icu.Collator.createInstance(icu.Locale(""))
    collator.setStrength(icu.Collator.TERTIARY)
    return collator.getSortKey


REFERENCE = pyicu_key()


@pytest.fixture(scope="module")
def root_sort_key() -> Callable[[str], bytes]:
    """The C function under test."""
    return pytest.importorskip("cbserver.views._icu_key").root_sort_key


def test_the_c_extension_was_built_and_collation_uses_it():
    from cbserver.views import _icu_key  # ImportError here: the build fell back silently

    pure = pure_python_requested()
    assert (collation._string_key is _icu_key.root_sort_key) is not pure
    assert printed_in_child(WHICH) == "True"


@pytest.mark.parametrize("value, expected", [("1", "False"), ("0", "True"), ("", "True")])
def test_cbserver_pure_python_selects_pyicu(value, expected):
    assert printed_in_child(WHICH, CBSERVER_PURE_PYTHON=value) == expected


def test_without_the_extension_collation_falls_back_to_pyicu():
    code = ("import sys; sys.modules['cbserver.views._icu_key'] = None;"
            "from cbserver.views import collation;"
            "print(collation._string_key.__module__, collation.python_sort_key('\u00e9').hex())")
    expected = "cbserver.views.collation " + (b"\x05" + REFERENCE("\u00e9")).hex()
    assert printed_in_child(code) == expected


def test_the_source_compiles_without_warnings(tmp_path):
    assert_compiles_without_warnings(SOURCE, tmp_path)


@settings(max_examples=1500, deadline=None)
@given(SHORT_TEXTS)
def test_short_texts_have_pyicus_keys(root_sort_key, text):
    assert root_sort_key(text) == REFERENCE(text)


@settings(max_examples=150, deadline=None)
@given(LONG_TEXTS)
def test_long_texts_have_pyicus_keys(root_sort_key, text):
    assert root_sort_key(text) == REFERENCE(text)


@pytest.mark.parametrize("text", [
    "", "\x00", "a\x00b", "\x00" * 300, "\ud800", "\udc00\ud800", "\ud83d\ude00",
    "\ud800\U0001f600", "\U0001f600\udfff", "\ufffd\U0001f600", "\U0010ffff" * 3,
    "a" * 256, "a" * 257, "\u0100" * 256, "\u0100" * 257, "\U0001f600" * 128,
    "\U0001f600" * 129, "a" * 255 + "\U0001f600", "\u00e9" * 5000, "\ud800" * 3000,
    "\U0001d11e\u0301" * 2000, Text("subclass"),
], ids=lambda text: f"{type(text).__name__}-{len(text)}-{text[:2].encode('unicode_escape')}")
def test_edge_texts_have_pyicus_keys(root_sort_key, text):
    key = root_sort_key(text)
    assert type(key) is bytes
    assert key == REFERENCE(text)
    assert key.endswith(b"\x00") and key.count(0) == 1


def test_keys_either_side_of_the_stack_key_buffer(root_sort_key):
    texts = [WIDE * wide + "a" * narrow for wide in range(16) for narrow in range(60)]
    lengths = {len(REFERENCE(text)) for text in texts}
    assert {511, 512, 513} <= lengths
    assert [root_sort_key(text) for text in texts] == [REFERENCE(text) for text in texts]


@pytest.mark.parametrize("text", ["a" * 124, "a" * 125, WIDE * 124, WIDE * 125, WIDE * 3000,
                                  "a" * 2000 + WIDE * 500])
def test_keys_longer_than_the_first_heap_buffer_grow_it(root_sort_key, text):
    assert root_sort_key(text) == REFERENCE(text)


def beer_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value: member names and string values, nested ones too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from beer_strings(item)
    elif isinstance(value, dict):
        for name, member in value.items():
            yield name
            yield from beer_strings(member)


def test_beer_sample_ids_and_strings_have_pyicus_keys(root_sort_key):
    with gzip.open(BEER_DIR / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    texts = sorted({text for record in records for text in beer_strings(record)})
    assert len(texts) > 8000
    mismatched = [text for text in texts if root_sort_key(text) != REFERENCE(text)]
    assert mismatched == []


@pytest.mark.parametrize("value", [b"bytes", bytearray(b"x"), None, 1, 1.5, ["a"], object()],
                         ids=lambda value: type(value).__name__)
def test_a_non_str_is_refused_naming_its_type(root_sort_key, value):
    with pytest.raises(TypeError, match=rf"^root_sort_key: the text must be a str, not "
                                        rf"{type(value).__name__}$"):
        root_sort_key(value)


def test_the_argument_count_is_checked(root_sort_key):
    with pytest.raises(TypeError):
        root_sort_key()
    with pytest.raises(TypeError):
        root_sort_key("a", "b")


def test_many_calls_leak_neither_memory_nor_references(root_sort_key):
    texts = ["".join(parts) for parts in (["w", "1"], ["\u00e9t", "\u00e9"], ["\u0100"] * 300,
                                          ["\U0001f600\ud800"] * 200, ["a"] * 2000)]
    refused = [bytes(bytearray(b"x")), 10 ** 30, ["a"]]

    def run() -> None:
        for n in range(CALLS):
            root_sort_key(texts[n % len(texts)])
            with pytest.raises(TypeError):
                root_sort_key(refused[n % len(refused)])

    run()
    watched = [*texts, *refused]  # none interned or cached, so only this test holds them
    before = [sys.getrefcount(each) for each in watched]
    growth = traced_growth(run, __file__)
    assert growth < GROWTH_LIMIT, growth
    assert [sys.getrefcount(each) for each in watched] == before


def test_a_key_is_owned_by_its_holder_only(root_sort_key):
    alone = bytes(bytearray(b"held by one name"))
    key = root_sort_key("held")
    assert sys.getrefcount(key) == sys.getrefcount(alone)


def test_threads_share_the_one_collator_safely(root_sort_key):
    texts = [f"{word} {n}" for n in range(300) for word in ("Bi\u00e8re", "\U0001f37a", "ale")]
    expected = [REFERENCE(text) for text in texts]
    results: dict[int, list[bytes]] = {}

    def work(n: int) -> None:
        results[n] = [root_sort_key(text) for _ in range(5) for text in texts][-len(texts):]

    run_threads(work, 8)
    assert all(keys == expected for keys in results.values())
