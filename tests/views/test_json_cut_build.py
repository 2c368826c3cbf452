"""The C document cutter was built on this machine and is the one map batches use; the
environment can turn it off; it compiles without warnings and keeps its references
straight over many calls, failed ones included."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)

from cbserver.views import doc_cut, map_batch

SOURCE = Path(doc_cut.__file__).with_name("_json_cut.c")
WHICH = "from cbserver.views import doc_cut; print(doc_cut.CUT is not None)"
NAMES = (b"type", b"city")
#: Values that end every way: cut, not an object, invalid UTF-8 or grammar, cut short,
#: not bytes (none of them a shared singleton, whose count others move).
VALUES = [b'{"type": "beer", "name": "x", "city": "y", "list": [1, {"a": 2}]}',
          b'{"b": 1}', b"[1, 2]", b'{"type": "\xff"}', b'{"type": 01}', b'{"type": ',
          bytearray(b'{"type": 1}'), "".join(["te", "xt"]),
          b'{"t\\u0079pe": [true, false, null]}']
CALLS = 10_000
#: Bytes the traced heap may grow by over a loop of calls: one leaked cut text per call
#: would take megabytes.
GROWTH_LIMIT = 64 * 1024


def cut_in_child(**env: str) -> str:
    """Whether a fresh interpreter with ``env`` added has a cutter."""
    return printed_in_child(WHICH, **env)


def test_the_c_extension_was_built_and_map_batches_use_it():
    from cbserver.views import _json_cut  # ImportError here: the build fell back silently

    assert doc_cut.load_c_cut() is _json_cut.cut
    assert map_batch.CUT is doc_cut.CUT
    assert cut_in_child() == "True"


@pytest.mark.parametrize("value, expected", [("1", "False"), ("0", "True"), ("", "True")])
def test_cbserver_pure_python_turns_the_cut_off(value, expected):
    assert cut_in_child(CBSERVER_PURE_PYTHON=value) == expected


def test_the_source_compiles_without_warnings(tmp_path):
    assert_compiles_without_warnings(SOURCE, tmp_path)


def test_many_calls_leak_neither_memory_nor_references():
    from cbserver.views._json_cut import cut

    values, names = list(VALUES), NAMES

    def run() -> None:
        for _ in range(CALLS):
            cut(values, names)
            cut(names, ())
            with pytest.raises(TypeError):
                cut(values, (b"type", "city"))
            with pytest.raises(TypeError):
                cut(iter(values), names)

    run()
    watched = [values, names, *values, *names]
    before = [sys.getrefcount(each) for each in watched]
    growth = traced_growth(run, __file__)
    assert growth < GROWTH_LIMIT, growth
    assert [sys.getrefcount(each) for each in watched] == before


def test_the_cut_texts_are_new_objects_each_owned_by_the_result_only():
    from cbserver.views._json_cut import cut

    result = cut(VALUES, NAMES)
    count = sys.getrefcount(result[0])
    assert count == 2  # the list's reference and the argument
    assert result[1] == b"{}" and result[2] is VALUES[2] and result[6] is VALUES[6]
