"""The C fast path was built on this machine and is the one the server uses; the
environment can force the Python one; the extension was compiled with the protocol's
constants, compiles without warnings and refuses arguments it cannot serve."""
from __future__ import annotations

from pathlib import Path

import pytest

from support.c_extensions import assert_compiles_without_warnings, printed_in_child

from cbserver.kv import fast_path
from cbserver.server import Server, ServerConfig

SOURCE = Path(fast_path.__file__).with_name("_fast_path.c")
WHICH = "from cbserver.kv import fast_path; print(fast_path.IMPLEMENTATION)"


def implementation_in_child(**env: str) -> str:
    """IMPLEMENTATION as a fresh interpreter with ``env`` added sees it."""
    return printed_in_child(WHICH, **env)


def test_the_c_extension_was_built_and_is_selected_by_default():
    from cbserver.kv import _fast_path  # ImportError here: the build fell back silently

    assert fast_path.load_c_fast_path() == (_fast_path.serve_fast, _fast_path.fast_bucket)
    assert implementation_in_child() == "c"


@pytest.mark.parametrize("value, expected", [("1", "python"), ("0", "c"), ("", "c")])
def test_cbserver_pure_python_selects_the_python_version(value, expected):
    assert implementation_in_child(CBSERVER_PURE_PYTHON=value) == expected


def test_the_connection_calls_the_selected_implementation():
    from cbserver.kv import connection

    assert (connection.serve_fast, connection.fast_bucket) == \
        (fast_path.serve_fast, fast_path.fast_bucket)
    expected = (fast_path.serve_fast_python, fast_path.fast_bucket_python) \
        if fast_path.IMPLEMENTATION == "python" else fast_path.load_c_fast_path()
    assert (fast_path.serve_fast, fast_path.fast_bucket) == expected


def test_the_extension_was_compiled_with_the_protocol_constants():
    from cbserver.kv import _fast_path

    built = {name: getattr(_fast_path, name) for name in fast_path.C_CONSTANTS}
    assert built == fast_path.C_CONSTANTS


def test_the_source_compiles_without_warnings(tmp_path):
    assert_compiles_without_warnings(SOURCE, tmp_path)


@pytest.mark.parametrize("args, error", [
    (("data", 0, []), TypeError),                  # str, not bytes
    ((bytearray(b"\x80" * 24), 0, []), TypeError),
    ((b"\x80" * 24, 0, ()), TypeError),            # out must be a list
    ((b"\x80" * 24, -1, []), ValueError),
    ((b"\x80" * 24, 1 << 70, []), OverflowError),
    ((b"\x80" * 24, "0", []), TypeError),
], ids=["str-data", "bytearray-data", "tuple-out", "negative-pos", "huge-pos", "str-pos"])
def test_bad_arguments_raise_typed_errors(args, error):
    from cbserver.kv import _fast_path

    server = Server(ServerConfig(vbuckets=1, ephemeral=True))
    session = fast_path.Session(server, "127.0.0.1")
    with pytest.raises(error):
        _fast_path.serve_fast(session, server.buckets["default"], *args)
    with pytest.raises(TypeError, match="5 positional arguments"):
        _fast_path.serve_fast(session, server.buckets["default"])
