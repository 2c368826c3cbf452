"""The C collation was built on this machine and is what indexes, queries and builds use;
CBSERVER_PURE_PYTHON selects the Python reference; the source compiles without warnings;
and many calls, failed ones included, leak neither memory nor references."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)

from cbserver.views import build_part, collation, execute, index

SOURCE = Path(collation.__file__).with_name("_collate.c")
WHICH = ("from cbserver.views import build_part, collation;"
         "print(collation.sort_key is collation.python_sort_key,"
         " build_part.ROWS is build_part.python_rows)")
CALLS = 2_000
#: Bytes the traced heap may grow by over a loop of calls: one leaked key or row per call
#: would take hundreds of kilobytes.
GROWTH_LIMIT = 64 * 1024


def selection_in_child(**env: str) -> str:
    """Whether a fresh interpreter with ``env`` added uses the Python keys and rows."""
    return printed_in_child(WHICH, **env)


def test_the_c_extension_was_built_and_every_caller_uses_it():
    from cbserver.views import _collate  # ImportError here: the build fell back silently

    assert collation.C_COLLATE is _collate or os.environ.get("CBSERVER_PURE_PYTHON")
    assert collation.load_c() is _collate
    assert selection_in_child() == "False False"
    if collation.C_COLLATE is not None:
        assert collation.sort_key is index.sort_key is execute.sort_key is _collate.sort_key
        assert build_part.ROWS is _collate.rows


@pytest.mark.parametrize("value, expected", [("1", "True True"), ("0", "False False"),
                                             ("", "False False")])
def test_cbserver_pure_python_selects_the_python_reference(value, expected):
    assert selection_in_child(CBSERVER_PURE_PYTHON=value) == expected


def test_an_unconfigured_module_says_so():
    code = ("import importlib.util, sys; from cbserver.views import collation;"
            "spec = importlib.util.find_spec('cbserver.views._collate');"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "try: module.sort_key(1)\nexcept RuntimeError as exc: print(exc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "configure() was not called" in done.stdout


def test_the_source_compiles_without_warnings(tmp_path):
    assert_compiles_without_warnings(SOURCE, tmp_path)


class KeyFailure(Exception):
    """What the failing ICU key function raises."""


@pytest.fixture
def c_collate(monkeypatch) -> Iterator[ModuleType]:
    """The C module whose ICU key function fails on "boom", over a cache of 8 strings."""
    module = collation.load_c()
    assert module is not None
    icu_key = collation._string_key

    def failing_key(text: str) -> bytes:
        if text == "boom":
            raise KeyFailure("boom")
        return icu_key(text)

    monkeypatch.setattr(collation, "_string_key", failing_key)
    monkeypatch.setattr(collation, "STRING_CACHE_SIZE", 8)
    collation.configure_c(module)
    yield module
    monkeypatch.undo()
    collation.configure_c(module)
    collation._string_cache.clear()


def test_many_calls_leak_neither_memory_nor_references(c_collate):
    sort_key, rows = c_collate.sort_key, c_collate.rows
    words = ["w%d" % n for n in range(20)]  # more than the cache holds: misses all along
    big, value = 10 ** 400, {"k": [1.5, None, True, ("t", -0.0)], "n": 10 ** 400}
    docs = [("doc-a", None), ("doc-b", None)]
    entries = [[0, 0, 0, value, "v"], [1, 1, 0, words, None], [1, 0, 1, "w1", 3]]
    bad_entries = [[0, 0, 0, "fine", 1], [1, 0, 0, [object()], 2]]
    deep: list = []
    for _ in range(sys.getrecursionlimit() + 10):
        deep = [deep]
    failures = [([1, object()], TypeError), ({"a": "boom"}, KeyFailure), ("boom", KeyFailure),
                ({1: 2}, Exception), ([[deep]], RecursionError)]

    def run() -> None:
        for n in range(CALLS):
            sort_key(value)
            sort_key(words[n % 20])
            sort_key([words[n % 20], words[(n + 7) % 20]])
            rows(entries, docs, 2)
            for failing, error in failures:
                with pytest.raises(error):
                    sort_key(failing)
            with pytest.raises(TypeError):
                rows(bad_entries, docs, 1)
            with pytest.raises(IndexError):
                rows(entries, docs, 1)

    run()
    watched = [value, big, words, *words, docs, *docs, entries, *entries, bad_entries]
    before = [sys.getrefcount(each) for each in watched]
    growth = traced_growth(run, __file__)
    assert growth < GROWTH_LIMIT, growth
    assert [sys.getrefcount(each) for each in watched] == before


def test_keys_and_rows_are_owned_by_their_holders_only(c_collate):
    key = c_collate.sort_key([1, "x"])
    result = c_collate.rows([[0, 0, 0, [2], "v"]], [("d", None)], 1)
    view_rows = result[0]
    row = view_rows[0]
    alone = bytearray(b"held by one name")
    counts = [sys.getrefcount(each) for each in (alone, key, result, view_rows, row, row[0])]
    one = counts[0]
    assert counts == [one, one, one, one + 1, one + 1, one]  # + the result and its list
