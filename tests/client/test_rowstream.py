"""The sans-I/O view-response splitter: rows out of any chunking, meta at the end."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from couchbase.io.rowstream import RowStreamError, RowStreamSplitter

TRICKY = ['"', "\\", "[", "]", "{", "}", ",", "\\\"", "\"rows\":[", "é", "\u0fff", "\U0001F37A"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                       allow_infinity=False) \
    | st.text() | st.sampled_from(TRICKY)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)
rows_strategy = st.lists(
    st.fixed_dictionaries({"id": st.text(), "key": json_values, "value": json_values}),
    max_size=12)
meta_strategy = st.fixed_dictionaries({"total_rows": st.integers(min_value=0)},
                                      optional={"errors": st.lists(json_values, max_size=3),
                                                "debug_info": json_values})


def body_of(rows, meta, separator=",", indent=None, rows_first=False):
    """A view response body with the rows array placed among the meta keys."""
    row_texts = [json.dumps(r, indent=indent, ensure_ascii=False) for r in rows]
    rows_text = '"rows":[' + separator.join(row_texts) + "]"
    meta_texts = [json.dumps(k) + ":" + json.dumps(v, indent=indent) for k, v in meta.items()]
    if rows_first:
        parts = [rows_text] + meta_texts
    else:
        parts = meta_texts[:1] + [rows_text] + meta_texts[1:]
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def split_all(body, cuts):
    """Feed ``body`` cut at the given offsets; return (rows, meta)."""
    splitter = RowStreamSplitter()
    rows = []
    start = 0
    for cut in sorted(set(cuts)) + [len(body)]:
        rows.extend(splitter.feed(body[start:cut]))
        start = cut
    return rows, splitter.finish()


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy, meta=meta_strategy, data=st.data(),
       separator=st.sampled_from([",", ",\r\n", " , ", "\n,\n"]),
       indent=st.sampled_from([None, 1]), rows_first=st.booleans())
def test_any_chunking_gives_every_row_and_the_meta(rows, meta, data, separator, indent,
                                                  rows_first):
    body = body_of(rows, meta, separator, indent, rows_first)
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=20))
    got_rows, got_meta = split_all(body, cuts)
    assert [json.loads(r) for r in got_rows] == json.loads(body)["rows"]
    assert got_meta == {**meta, "rows": []}


@settings(max_examples=40, deadline=None)
@given(rows=rows_strategy, meta=meta_strategy)
def test_byte_at_a_time(rows, meta):
    body = body_of(rows, meta, ",\r\n")
    got_rows, got_meta = split_all(body, list(range(len(body))))
    assert [json.loads(r) for r in got_rows] == rows
    assert got_meta["total_rows"] == meta["total_rows"]


def test_rows_are_handed_out_as_soon_as_complete():
    splitter = RowStreamSplitter()
    assert splitter.feed(b'{"total_rows":2,"rows":[{"key":"a]}\\""},') == ['{"key":"a]}\\""}']
    assert splitter.feed(b'{"key":[1,{"x":"}"}]}') == []
    assert splitter.feed(b"]") == ['{"key":[1,{"x":"}"}]}']
    assert splitter.feed(b"}") == []
    assert splitter.finish() == {"total_rows": 2, "rows": []}


def test_scalar_rows_and_empty_rows():
    rows, meta = split_all(b'{"rows":[1, "two" ,null,[3]]}', [5, 13])
    assert rows == ["1", '"two"', "null", "[3]"]
    assert meta == {"rows": []}
    rows, meta = split_all(b'{"total_rows":0,"rows":[ ]}', [])
    assert rows == [] and meta == {"total_rows": 0, "rows": []}


def test_error_body_without_rows_is_all_meta():
    rows, meta = split_all(b'{"error":"not_found","reason":"missing rows [x]"}', [3, 9])
    assert rows == []
    assert meta == {"error": "not_found", "reason": "missing rows [x]"}


def test_only_the_top_level_rows_key_is_split():
    body = b'{"debug_info":{"rows":[1,2]},"rows":[{"k":1}],"errors":[{"rows":[]}]}'
    rows, meta = split_all(body, [10, 30])
    assert rows == ['{"k":1}']
    assert meta == {"debug_info": {"rows": [1, 2]}, "rows": [], "errors": [{"rows": []}]}


def test_memory_is_bounded_by_the_row_in_progress():
    splitter = RowStreamSplitter()
    splitter.feed(b'{"total_rows":100000,"rows":[')
    row = b'{"id":"' + b"x" * 200 + b'","key":null,"value":null}'
    high = 0
    for _ in range(2000):
        assert len(splitter.feed(row + b",")) == 1
        high = max(high, splitter.buffered)
    assert high < 2 * len(row)


@pytest.mark.parametrize("body, message", [
    (b'{"rows":[{"a":1}', "ended in the middle"),
    (b'{"rows":[{"a":"unterminated', "ended in the middle"),
    (b'{"rows":[]} trailing', "not valid JSON"),
    (b'[1,2]', "not a JSON object"),
])
def test_truncated_or_malformed_bodies_raise(body, message):
    splitter = RowStreamSplitter()
    splitter.feed(body)
    with pytest.raises(RowStreamError, match=message):
        splitter.finish()


def test_unbalanced_and_oversized_input_raise():
    with pytest.raises(RowStreamError, match="unexpected"):
        RowStreamSplitter().feed(b'{"rows":[{"a":1}}')
    with pytest.raises(RowStreamError, match="unbalanced"):
        RowStreamSplitter().feed(b'{"a":1}}')
    with pytest.raises(RowStreamError, match="exceeds 100 bytes"):
        RowStreamSplitter(max_row_bytes=100).feed(b'{"rows":[{"a":"' + b"x" * 200)
    with pytest.raises(RowStreamError, match="meta exceeds 100 bytes"):
        RowStreamSplitter(max_meta_bytes=100).feed(b'{"reason":"' + b"x" * 200)
