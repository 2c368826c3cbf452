"""The commit log's CRC-32: the folded C version returns zlib.crc32's number for every
length, alignment, starting value and kind of buffer, refuses what zlib refuses, leaks
nothing, lets threads checksum at once, compiles cleanly and is selected where the CPU
can fold; a commit log record carries zlib.crc32 of its payload whichever computed it."""
from __future__ import annotations

import mmap
import os
import struct
import sys
import zlib
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings, strategies as st
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)
from support.threads import run_threads

from cbserver.pure_python import pure_python_requested
from cbserver.storage import checksum
from cbserver.storage.commit_log import CommitLog, list_segments

SOURCE = Path(checksum.__file__).with_name("_crc32.c")
WHICH = "import zlib; from cbserver.storage import checksum; print(checksum.crc32 is zlib.crc32)"
#: Lengths around every boundary of the folding: one 64-byte block, 16-byte steps, tails.
LENGTHS = [*range(0, 200), 255, 256, 257, 1023, 1024, 1025, 4096 + 15, 65535, 65536, 65537,
           (1 << 20) + 7]
STARTS = [0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0xDEADBEEF]
CALLS = 2_000
GROWTH_LIMIT = 16 * 1024


@pytest.fixture(scope="module")
def c_crc32() -> ModuleType:
    from cbserver.storage import _crc32  # ImportError here: the build fell back silently

    return _crc32


def test_the_c_extension_was_built_and_is_selected_where_the_cpu_folds(c_crc32):
    folding = c_crc32.ACCELERATED and not pure_python_requested()
    assert (checksum.crc32 is c_crc32.crc32) is folding
    assert (checksum.crc32 is zlib.crc32) is not folding
    assert printed_in_child(WHICH) == str(not c_crc32.ACCELERATED)


@pytest.mark.parametrize("value, zlib_used", [("1", True), ("0", None), ("", None)])
def test_cbserver_pure_python_selects_zlib(c_crc32, value, zlib_used):
    expected = zlib_used if zlib_used is not None else not c_crc32.ACCELERATED
    assert printed_in_child(WHICH, CBSERVER_PURE_PYTHON=value) == str(expected)


def test_without_the_extension_zlib_is_used():
    code = "import sys; sys.modules['cbserver.storage._crc32'] = None;" + WHICH
    assert printed_in_child(code) == "True"


def test_the_source_compiles_without_warnings(tmp_path):
    assert_compiles_without_warnings(SOURCE, tmp_path)


def test_every_length_alignment_and_start_gives_zlibs_number(c_crc32):
    data = os.urandom(max(LENGTHS) + 16)
    view = memoryview(data)
    for length in LENGTHS:
        for offset in (0, 1, 7, 13):
            for start in STARTS:
                chunk = view[offset:offset + length]
                assert c_crc32.crc32(chunk, start) == zlib.crc32(chunk, start), (length, offset)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2**32 - 1), st.integers(0, 3000))
def test_random_data_split_anywhere_chains_like_zlib(c_crc32, data, start, cut):
    whole = c_crc32.crc32(data, start)
    assert whole == zlib.crc32(data, start)
    assert c_crc32.crc32(data[cut:], c_crc32.crc32(data[:cut], start)) == whole


def test_constant_bytes_and_known_values(c_crc32):
    assert c_crc32.crc32(b"") == 0
    assert c_crc32.crc32(b"123456789") == 0xCBF43926  # the CRC-32 check value
    for fill in (b"\x00", b"\xff", b"\x80"):
        data = fill * 100_000
        assert c_crc32.crc32(data) == zlib.crc32(data)
    assert c_crc32.crc32(b"abc", 2**40 + 5) == zlib.crc32(b"abc", 5)  # masked like zlib


def test_any_contiguous_bytes_like_object_is_taken(c_crc32, tmp_path):
    data = os.urandom(10_000)
    path = tmp_path / "data"
    path.write_bytes(data)
    with open(path, "rb") as handle, \
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert c_crc32.crc32(mapped) == zlib.crc32(data)
    for like in (bytearray(data), memoryview(data).cast("I"), struct.pack("<4d", 1, 2, 3, 4)):
        assert c_crc32.crc32(like) == zlib.crc32(like)


@pytest.mark.parametrize("args", [("text",), (None,), (memoryview(b"abcdef")[::2],), (),
                                  (b"a", 1, 2), (b"a", "1"), (b"a", 1.5)],
                         ids=["str", "none", "strided", "no-args", "three-args", "str-start",
                              "float-start"])
def test_what_zlib_refuses_is_refused_with_the_same_error_class(c_crc32, args):
    with pytest.raises(Exception) as from_zlib:
        zlib.crc32(*args)
    with pytest.raises(from_zlib.type):
        c_crc32.crc32(*args)


def test_many_calls_leak_neither_memory_nor_references(c_crc32):
    small, big = os.urandom(100), os.urandom(200_000)  # big lets go of the GIL
    start = 2**32 - 3

    def run() -> None:
        for _ in range(CALLS):
            c_crc32.crc32(small)
            c_crc32.crc32(big, start)
            with pytest.raises(TypeError):
                c_crc32.crc32("text")

    run()
    before = [sys.getrefcount(each) for each in (small, big, start)]
    growth = traced_growth(run, __file__)
    assert growth < GROWTH_LIMIT, growth
    assert [sys.getrefcount(each) for each in (small, big, start)] == before


def test_threads_checksum_at_once(c_crc32):
    buffers = [os.urandom(300_000 + n) for n in range(4)]
    expected = [zlib.crc32(each) for each in buffers]
    results: dict[int, bool] = {}

    def work(n: int) -> None:
        results[n] = all(c_crc32.crc32(buffers[n]) == expected[n] for _ in range(50))

    run_threads(work, 4)
    assert results == {n: True for n in range(4)}


def test_a_log_record_carries_zlibs_crc32_of_its_payload(tmp_path):
    payloads = [b"", b"short", os.urandom(70_000)]
    log = CommitLog(tmp_path)
    for payload in payloads:
        log.append(payload)
    log.seal()
    data = list_segments(tmp_path)[0].read_bytes()
    offset = 0
    for payload in payloads:
        length, crc = struct.unpack_from(">II", data, offset)
        assert (length, crc) == (len(payload), zlib.crc32(payload))
        assert data[offset + 8:offset + 8 + length] == payload
        offset += 8 + length
    assert offset == len(data)
