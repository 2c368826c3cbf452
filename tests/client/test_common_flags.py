"""Decoding of documents whose flags carry the common-flags format of newer SDKs."""
from __future__ import annotations

import pickle

import pytest

from couchbase import FMT_BYTES, FMT_JSON, FMT_PICKLE, FMT_UTF8
from couchbase.exceptions import ValueFormatError
from couchbase.transcoder import Transcoder, decode_value, legacy_format


@pytest.mark.parametrize("flags, expected", [
    (0x02000000, FMT_JSON),     # JSON, any SDK
    (0x04000000, FMT_UTF8),     # string, SDKs that set only the common format
    (0x03000000, FMT_BYTES),    # binary
    (0x01000000, FMT_PICKLE),   # private: Python's pickle
    (0x04000004, FMT_UTF8),     # Python SDK 2.x-4.x set both and they agree
    (0x03000002, FMT_BYTES),
    (0x01000001, FMT_PICKLE),
    (FMT_UTF8, FMT_UTF8),       # plain 1.0 flags are unchanged
    (FMT_BYTES, FMT_BYTES),
    (0x0F000004, 0x0F000004),   # an unknown common format falls back to the low bits
])
def test_legacy_format_of_common_flags(flags, expected):
    assert legacy_format(flags) == expected


def test_values_written_with_common_flags_decode():
    assert decode_value(b'{"a": [1, 2]}', 0x02000000) == {"a": [1, 2]}
    assert decode_value(b"plain text", 0x04000000) == "plain text"
    assert decode_value(b"\x00\xff", 0x03000000) == b"\x00\xff"
    assert decode_value(pickle.dumps({1, 2}), 0x01000001) == {1, 2}
    assert Transcoder().decode_value("é".encode(), 0x04000000) == "é"


def test_text_flagged_as_string_is_not_parsed_as_json():
    with pytest.raises(ValueFormatError):
        decode_value(b"not json", FMT_JSON)
    assert decode_value(b"not json", 0x04000000) == "not json"
