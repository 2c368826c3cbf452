"""lcb's percent-encoding of view and management request paths (spec 13)."""
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from couchbase.io.urlpath import InvalidPathChar, encode_path


@pytest.mark.parametrize("path, wire", [
    ("_design/dev_beer/_view/by_name?limit=1", "_design/dev_beer/_view/by_name?limit=1"),
    ("_design/my design", "_design/my%20design"),
    ("_design/bière", "_design/bi%C3%A8re"),
    ('_view/v?startkey="a"', "_view/v?startkey=%22a%22"),
    ("_view/v?key=%22a%22", "_view/v?key=%22a%22"),
    ("100%", "100%25"),
    ("a%zz b", "a%25zz%20b"),
    ("pools/default/buckets/default", "pools/default/buckets/default"),
])
def test_encoding(path, wire):
    assert encode_path(path) == wire


@pytest.mark.parametrize("path, bad", [
    ('_view/v?key=%22a%22&endkey="b"', 27),
    ("a+b c", 3),
])
def test_already_encoded_path_rejects_illegal_characters(path, bad):
    with pytest.raises(InvalidPathChar) as info:
        encode_path(path)
    assert info.value.index == bad
    assert repr(path) in str(info.value)


def test_lone_surrogate_is_rejected():
    with pytest.raises(InvalidPathChar):
        encode_path("_design/\ud800")


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="%+")))
def test_unencoded_paths_round_trip(text):
    wire = encode_path(text)
    assert wire.isascii() and " " not in wire
    assert unquote(wire) == text
