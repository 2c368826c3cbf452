"""Documents written by either client read back identically through the other.

Flags policy (README "Document flags"): cbserver stores flags untouched; our client writes
the 1.0 FMT_* flags and decodes the common-flags format of newer SDKs when it is set; SDK 4
reads 1.0 flags through its legacy path (top byte 0).
"""
from __future__ import annotations

import pytest

from couchbase import FMT_BYTES, FMT_JSON, FMT_PICKLE, FMT_UTF8, Couchbase


@pytest.fixture
def classic(server):
    """Our 1.0 client on the shared server's protected bucket (1.0 has no close())."""
    return Couchbase.connect(bucket="protected", host=server.host, port=server.rest_port,
                             password="secret")


def test_documents_written_by_sdk4_decode_in_the_classic_client(sdk4, classic, prefix):
    written = sdk4.run("cross_client", mode="write", user="protected", password="secret",
                       bucket="protected", prefix=prefix)
    expected = {
        "json": ({"name": "Ünïcode", "list": [1, 2.5, None]}, 0x02000000),
        "json_text": ("a JSON string", 0x02000000),
        "string": ("plain text é", 0x04000004),
        "binary": (b"\x00\x01\xfe\xff", 0x03000002),
        "pickle": ({1, 2, 3}, 0x01000001),
        "counter": (7, 0),
    }
    for name, (value, flags) in expected.items():
        result = classic.get(f"{prefix}{name}")
        assert (result.value, result.flags, result.cas) == (value, flags, written[name]), name


def test_documents_written_by_the_classic_client_decode_in_sdk4(sdk4, classic, prefix):
    docs = {
        "json": ({"name": "Ünïcode", "nested": {"a": [True, None]}}, FMT_JSON),
        "string": ("plain text é", FMT_UTF8),
        "binary": (b"\x00\x01\xfe\xff", FMT_BYTES),
        "pickle": ({4, 5}, FMT_PICKLE),
    }
    cas = {name: classic.set(f"{prefix}{name}", value, format=fmt).cas
           for name, (value, fmt) in docs.items()}
    cas["counter"] = classic.incr(f"{prefix}counter", initial=41, amount=1).cas
    read = sdk4.run("cross_client", mode="read", user="protected", password="secret",
                    bucket="protected", keys=[f"{prefix}{name}" for name in cas])
    assert read == {
        f"{prefix}json": {"type": "dict", "value": docs["json"][0], "flags": FMT_JSON,
                          "cas": cas["json"]},
        f"{prefix}string": {"type": "str", "value": "plain text é", "flags": FMT_UTF8,
                            "cas": cas["string"]},
        f"{prefix}binary": {"type": "bytes", "value": "0001feff", "flags": FMT_BYTES,
                            "cas": cas["binary"]},
        f"{prefix}pickle": {"type": "set", "value": [4, 5], "flags": FMT_PICKLE,
                            "cas": cas["pickle"]},
        f"{prefix}counter": {"type": "int", "value": 41, "flags": 0, "cas": cas["counter"]},
    }


def test_a_value_changed_by_one_client_is_seen_by_the_other(sdk4, classic, prefix):
    key = f"{prefix}shared"
    classic.set(key, {"step": 1})
    sdk4.run("cross_client", mode="write", user="protected", password="secret",
             bucket="protected", prefix=key)
    assert classic.get(f"{key}json").value == {"name": "Ünïcode", "list": [1, 2.5, None]}
    assert classic.get(key).value == {"step": 1}
