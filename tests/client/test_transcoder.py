"""Key and value conversion rules, the Transcoder classes and the global converters."""
import json
import pickle
import zlib

import pytest
from hypothesis import given, strategies as st

from couchbase import _libcouchbase as C
from couchbase.exceptions import ArgumentError, ValueFormatError
from couchbase.transcoder import (Transcoder, TranscoderPP, decode_key, decode_value,
                                  encode_key, encode_value, key_from_bytes, key_to_bytes,
                                  set_json_converters, set_pickle_converters,
                                  value_from_bytes, value_to_bytes)

FMT_JSON, FMT_PICKLE, FMT_BYTES, FMT_UTF8, FMT_MASK = (C.FMT_JSON, C.FMT_PICKLE, C.FMT_BYTES,
                                                       C.FMT_UTF8, C.FMT_MASK)


def test_keys_are_utf8():
    assert encode_key("caf\u00e9") == b"caf\xc3\xa9"
    assert decode_key(b"caf\xc3\xa9") == "caf\u00e9"


@pytest.mark.parametrize("key", [b"bytes", bytearray(b"x"), 1, True, None, (1,), ["a"],
                                 {"a": 1}, {1}, {}.keys(), object()])
def test_non_str_keys_are_value_format_errors(key):
    with pytest.raises(ValueFormatError, match="Must be unicode or string") as info:
        encode_key(key)
    assert info.value.objextra is key


def test_empty_key_is_an_argument_error():
    with pytest.raises(ArgumentError):
        encode_key("")


def test_unencodable_key():
    with pytest.raises(ValueFormatError):
        encode_key("\ud800")


def test_undecodable_key():
    with pytest.raises(ValueFormatError):
        decode_key(b"\xff")


def test_json_is_the_default_and_keeps_non_ascii():
    data, flags = encode_value({"unicode": "\u05e9\u05dc\u05d5\u05dd!"}, FMT_JSON)
    assert flags == FMT_JSON
    assert data == '{"unicode": "\u05e9\u05dc\u05d5\u05dd!"}'.encode("utf-8")
    assert decode_value(data, 0) == {"unicode": "\u05e9\u05dc\u05d5\u05dd!"}


def test_manual_json_example_round_trip():
    value = {"and this is a tuple": ("with", "more", "elements"), "floats": 3.14,
             "integers": 42, "blobs": "\x00", "or a None": None}
    data, flags = encode_value(value, FMT_JSON)
    assert decode_value(data, flags) == {**value, "and this is a tuple": ["with", "more",
                                                                         "elements"]}


def test_utf8_bytes_and_pickle():
    assert encode_value("\u03ee", FMT_UTF8) == (b"\xcf\xae", FMT_UTF8)
    assert encode_value(b"\x01\x02", FMT_BYTES) == (b"\x01\x02", FMT_BYTES)
    assert encode_value(bytearray(b"\x01"), FMT_BYTES) == (b"\x01", FMT_BYTES)
    data, flags = encode_value({1, 2, 3}, FMT_PICKLE)
    assert flags == FMT_PICKLE and pickle.loads(data) == {1, 2, 3}
    assert decode_value(data, FMT_PICKLE) == {1, 2, 3}
    assert decode_value(b"\xcf\xae", FMT_UTF8) == "\u03ee"
    assert decode_value(b"\x00\xff", FMT_BYTES) == b"\x00\xff"


def test_bit_order_utf8_then_bytes_then_pickle():
    assert encode_value("s", FMT_UTF8 | FMT_BYTES | FMT_PICKLE) == (b"s", 7)
    assert encode_value(b"b", FMT_BYTES | FMT_PICKLE) == (b"b", 3)
    assert decode_value(b"s", 7) == "s"
    assert decode_value(b"b", 3) == b"b"


def test_flags_are_masked_on_encode():
    assert encode_value("x", 0x100 | FMT_UTF8) == (b"x", FMT_UTF8)
    assert encode_value(1, 0xFFFFFFF8) == (b"1", 0)


@pytest.mark.parametrize("fmt", [-1, 0x100000000, "0", None, 1.0, [0]])
def test_bad_flags_are_argument_errors(fmt):
    with pytest.raises(ArgumentError, match="Bad value for flags"):
        encode_value("v", fmt)


@pytest.mark.parametrize("value, fmt", [(b"bytes", FMT_UTF8), (1, FMT_UTF8),
                                        ("str", FMT_BYTES), (None, FMT_BYTES),
                                        (object(), FMT_JSON), ({1}, FMT_JSON),
                                        (lambda: 0, FMT_PICKLE), ("\ud800", FMT_UTF8),
                                        ("\ud800", FMT_JSON)])
def test_unencodable_values_are_value_format_errors(value, fmt):
    with pytest.raises(ValueFormatError) as info:
        encode_value(value, fmt)
    assert info.value.objextra is value


def test_encoding_error_keeps_the_converter_exception():
    with pytest.raises(ValueFormatError) as info:
        encode_value(object(), FMT_JSON)
    assert isinstance(info.value.inner_cause, TypeError)
    assert str(info.value).startswith("<Couldn't encode value, inner_cause=")


def test_counters_read_back_as_ints():
    assert decode_value(b"42", 0) == 42


@pytest.mark.parametrize("raw, flags", [(b"blah blah{\"a\": 1}", FMT_JSON),
                                        (b"\xff", FMT_UTF8), (b"\xff", FMT_JSON),
                                        (b"not a pickle", FMT_PICKLE)])
def test_undecodable_values_are_value_format_errors(raw, flags):
    with pytest.raises(ValueFormatError, match="Failed to decode bytes") as info:
        decode_value(raw, flags)
    assert info.value.objextra == raw
    assert info.value.inner_cause is not None


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=20))
def test_json_round_trip(value):
    assert decode_value(*encode_value(value, FMT_JSON)) == value


@given(st.text())
def test_utf8_round_trip(text):
    try:
        data, flags = encode_value(text, FMT_UTF8)
    except ValueFormatError:
        assert any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
        return
    assert decode_value(data, flags) == text


@given(st.binary())
def test_bytes_round_trip(data):
    assert decode_value(*encode_value(data, FMT_BYTES)) == data


def test_set_json_converters_returns_previous_and_applies_globally():
    calls = []

    def enc(obj):
        calls.append(obj)
        return b"<" + json.dumps(obj).encode() + b">"

    def dec(text):
        assert isinstance(text, str)
        return json.loads(text[1:-1])

    old = set_json_converters(enc, dec)
    try:
        assert old[1] is json.loads
        assert encode_value([1], FMT_JSON) == (b"<[1]>", 0)
        assert decode_value(b"<[1]>", 0) == [1]
        assert Transcoder().encode_value([2], 0) == (b"<[2]>", 0)
        assert calls == [[1], [2]]
        assert set_json_converters(*old) == (enc, dec)
    finally:
        set_json_converters(*old)
    assert encode_value([1], FMT_JSON) == (b"[1]", 0)


def test_set_pickle_converters():
    seen = []

    def dec(data):
        seen.append(type(data))
        return pickle.loads(data)

    old = set_pickle_converters(lambda obj: pickle.dumps(obj, 0), dec)
    try:
        assert old == (pickle.dumps, pickle.loads)
        data, _ = encode_value((1, 2), FMT_PICKLE)
        assert data == pickle.dumps((1, 2), 0)
        assert decode_value(data, FMT_PICKLE) == (1, 2)
        assert seen == [bytes]
    finally:
        set_pickle_converters(*old)


def test_default_transcoder_returns_format_as_given():
    tc = Transcoder()
    assert tc.encode_key("k") == b"k"
    assert tc.decode_key(b"k") == "k"
    assert tc.encode_value("x", FMT_UTF8 | 0x10) == (b"x", FMT_UTF8 | 0x10)
    assert tc.decode_value(b"x", FMT_UTF8 | 0x10) == "x"
    with pytest.raises(ValueFormatError):
        tc.encode_key(b"k")


class ZlibTranscoder(Transcoder):
    """The manual's example: an extra format bit above FMT_MASK."""

    FMT_ZLIB = (FMT_MASK << 1) & ~FMT_MASK

    def encode_value(self, value, format):
        data, flags = super().encode_value(value, format & FMT_MASK)
        if format & self.FMT_ZLIB:
            flags |= self.FMT_ZLIB
            data = zlib.compress(data)
        return data, flags

    def decode_value(self, value, flags):
        if flags & self.FMT_ZLIB:
            value = zlib.decompress(value)
            flags &= FMT_MASK
        return super().decode_value(value, flags)


def test_manual_zlib_transcoder_through_the_connection_path():
    tc = ZlibTranscoder()
    data, flags = value_to_bytes(tc, "long value" * 1000, FMT_BYTES | FMT_UTF8 | tc.FMT_ZLIB)
    assert flags == FMT_UTF8 | FMT_BYTES | tc.FMT_ZLIB and len(data) < 1000
    assert value_from_bytes(tc, data, flags) == "long value" * 1000


def test_connection_path_without_transcoder_uses_default_rules():
    assert key_to_bytes(None, "k") == b"k"
    assert key_from_bytes(None, b"k") == "k"
    assert value_to_bytes(None, "v", FMT_UTF8) == (b"v", FMT_UTF8)
    assert value_from_bytes(None, b"v", FMT_UTF8) == "v"
    with pytest.raises(ArgumentError):
        key_to_bytes(None, "")
    with pytest.raises(ArgumentError):
        value_to_bytes(None, "v", None)


class Reversing:
    """A duck-typed transcoder with only some methods, some of them wrong."""

    def encode_key(self, key):
        return key[::-1].encode()

    def decode_key(self, raw):
        return [raw] if raw == b"list" else raw.decode()[::-1]

    def encode_value(self, value, format):
        return value


def test_duck_typed_transcoder_and_its_validation():
    tc = Reversing()
    assert key_to_bytes(tc, "abc") == b"cba"
    assert key_from_bytes(tc, b"cba") == "abc"
    with pytest.raises(ValueFormatError, match="unhashable"):
        key_from_bytes(tc, b"list")
    with pytest.raises(ValueFormatError, match="couldn't find transcoder method"):
        value_from_bytes(tc, b"x", 0)
    assert value_to_bytes(tc, (b"x", 0xFFFFFFFF), object()) == (b"x", 0xFFFFFFFF)
    for bad in [b"x", (b"x",), ("x", 0), (b"x", -1), (b"x", 1 << 32), (b"x", "0"),
                (b"x", 0, 0)]:
        with pytest.raises(ValueFormatError):
            value_to_bytes(tc, bad, 0)


@pytest.mark.parametrize("out", [b"", "str", None, 5])
def test_transcoder_encode_key_must_give_non_empty_bytes(out):
    class Bad(Transcoder):
        def encode_key(self, key):
            return out
    with pytest.raises(ValueFormatError):
        key_to_bytes(Bad(), "k")


def test_exceptions_inside_transcoder_methods_propagate():
    class Boom(Transcoder):
        def decode_value(self, value, flags):
            raise KeyError("boom")
    with pytest.raises(KeyError):
        value_from_bytes(Boom(), b"", 0)


def test_transcoder_pp():
    tc = TranscoderPP()
    assert tc.encode_key("k\u00e9") == "k\u00e9".encode()
    assert tc.decode_key(b"k") == "k"
    assert tc.encode_value({"a": 1}, FMT_JSON) == (b'{"a": 1}', FMT_JSON)
    assert tc.encode_value("s", FMT_UTF8) == (b"s", FMT_UTF8)
    assert tc.encode_value(b"b", FMT_BYTES) == (b"b", FMT_BYTES)
    assert tc.decode_value(*tc.encode_value({4}, FMT_PICKLE)) == {4}
    assert tc.decode_value(b'{"a": 1}', FMT_JSON) == {"a": 1}
    with pytest.raises(TypeError):
        tc.encode_value("s", FMT_BYTES)
    with pytest.raises(TypeError):
        tc.encode_value(b"s", FMT_UTF8)
    with pytest.raises(ValueError):
        tc.encode_value("s", 0x40)
    with pytest.warns(UserWarning, match="unrecognized flags"):
        assert tc.decode_value(b"raw", FMT_UTF8 | FMT_BYTES) == b"raw"


def test_value_errors_name_the_key_when_given():
    with pytest.raises(ValueFormatError) as info:
        value_to_bytes(None, object(), FMT_JSON, key="doc1")
    assert info.value.key == "doc1" and str(info.value).startswith("<Key='doc1', ")
    with pytest.raises(ValueFormatError) as info:
        value_from_bytes(Transcoder(), b"{", FMT_JSON, key="doc2")
    assert info.value.key == "doc2"
    with pytest.raises(ArgumentError) as info:
        value_to_bytes(None, "v", -1, key="doc3")
    assert info.value.key == "doc3"
