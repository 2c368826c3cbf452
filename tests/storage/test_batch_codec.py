"""Layout 3 batches: the C codec gives the Python reference's bytes, entries, folded rows and
errors (messages included) on random batches and on every malformed payload; coalescing
equals a dict of the flat entries; memoryview slices are payloads too; the C module leaks
nothing, is safe from threads, compiles cleanly and is used unless CBSERVER_PURE_PYTHON
is set or it is missing."""
from __future__ import annotations

import importlib.util
import marshal
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from support.c_extensions import (assert_compiles_without_warnings, printed_in_child,
                                  traced_growth)
from support.threads import run_threads

from cbserver.pure_python import pure_python_requested
from cbserver.storage import batch_codec
from cbserver.storage.batch_codec import (TAG, U8_MAX, U16_MAX, U32_MAX, U64_MAX,
                                          BatchLayoutError, Folded, coalesce_python,
                                          decode_batch3_python, encode_batch_python)
from cbserver.storage.store import to_sql_u64

SOURCE = Path(batch_codec.__file__).with_name("_batch_codec.c")
WHICH = ("from cbserver.storage import batch_codec as b;"
         "print(b.encode_batch is b.encode_batch_python, b.coalesce is b.coalesce_python,"
         " b.decode_batch3 is b.decode_batch3_python)")
CALLS = 300
#: Bytes the traced heap may grow by over the leak loop: one leaked row, payload or
#: error per call would take hundreds of kilobytes.
GROWTH_LIMIT = 16 * 1024
EXAMPLES = settings(max_examples=200, deadline=None)
#: The Python reference, with the C module's function names.
PYTHON = type("Python", (), {"encode_batch": staticmethod(encode_batch_python),
                             "decode_batch3": staticmethod(decode_batch3_python),
                             "coalesce": staticmethod(coalesce_python)})


def edge_ints(maximum: int) -> st.SearchStrategy[int]:
    """Ints of a field of width ``maximum``: its edges more often than chance gives them."""
    return st.sampled_from([0, 1, maximum - 1, maximum]) | st.integers(0, maximum)


keys = st.sampled_from([b"a", b"b", b"c", b"\x00", b"key-\x00\xff", b"k" * 250]) | st.binary(
    min_size=1, max_size=12)
values = st.binary(max_size=64) | st.sampled_from([b"", b"v" * 3000])
records = st.tuples(values, edge_ints(U32_MAX), edge_ints(U64_MAX), edge_ints(U8_MAX),
                    edge_ints(U64_MAX), edge_ints(U32_MAX),
                    st.sampled_from([0.0, 1.5, 1e12]))
states = records | edge_ints(U64_MAX)
#: Flat batches: [key, state, ...], empty ones included.
batches = st.lists(st.tuples(keys, states), max_size=30).map(
    lambda pairs: [part for pair in pairs for part in pair])
seqnos = edge_ints(U64_MAX)


@pytest.fixture(scope="module")
def c_codec() -> ModuleType:
    """The C module, configured by batch_codec (skips where it was not built)."""
    module = batch_codec.load_c()
    if module is None:
        pytest.skip("cbserver.storage._batch_codec is not built")
    return module


@pytest.fixture(params=["c", "python"])
def codec(request: pytest.FixtureRequest) -> Any:
    """Each implementation in turn (the C one skipped where it was not built)."""
    return request.getfixturevalue("c_codec") if request.param == "c" else PYTHON


def outcome(function, *args: Any) -> tuple:
    """What ``function(*args)`` returns, or the type and text of its error."""
    try:
        return ("ok", function(*args))
    except Exception as exc:  # noqa: BLE001 - the very exception is compared
        return (type(exc), str(exc))


def unlocked(entries: list) -> list:
    """``entries`` with every record's lock_expiry 0.0, as decoding gives them back."""
    return [(*state[:6], 0.0) if type(state) is tuple else state for state in entries]


def model(batches_: list[tuple[int, list]]) -> Folded:
    """The folded rows of ``(seqno, entries)`` batches built from a dict of the entries."""
    newest: dict[bytes, Any] = {}
    for _, entries in batches_:
        newest.update(zip(entries[0::2], entries[1::2]))
    upserts: list = []
    deletes: list = []
    max_cas = 0
    for key, state in newest.items():
        if type(state) is int:
            deletes.append(bytearray(key))
            continue
        value, flags, cas, datatype, seqno, expiry, _ = state
        upserts += [bytearray(key), bytearray(value), flags, expiry, to_sql_u64(cas), datatype,
                    seqno]
        max_cas = max(max_cas, cas)
    return Folded(upserts, deletes, max_cas, max((seqno for seqno, _ in batches_), default=0),
                  sum(len(entries) // 2 for _, entries in batches_))


def test_the_c_extension_was_built_and_is_selected():
    from cbserver.storage import _batch_codec  # ImportError here: the build fell back silently

    pure = pure_python_requested()
    assert (batch_codec.encode_batch is _batch_codec.encode_batch) is not pure
    assert (batch_codec.coalesce is _batch_codec.coalesce) is not pure
    assert (batch_codec.decode_batch3 is _batch_codec.decode_batch3) is not pure
    assert printed_in_child(WHICH) == "False False False"


@pytest.mark.parametrize("value, expected", [("1", "True True True"), ("0", "False False False"),
                                             ("", "False False False")])
def test_cbserver_pure_python_selects_the_python_codec(value, expected):
    assert printed_in_child(WHICH, CBSERVER_PURE_PYTHON=value) == expected


def test_without_the_extension_the_python_codec_is_used():
    code = "import sys; sys.modules['cbserver.storage._batch_codec'] = None;" + WHICH
    assert printed_in_child(code) == "True True True"


def test_the_source_compiles_without_warnings(tmp_path):
    assert_compiles_without_warnings(SOURCE, tmp_path)


def test_an_unconfigured_module_encodes_but_refuses_to_decode(c_codec):
    spec = importlib.util.spec_from_file_location(c_codec.__name__, c_codec.__file__)
    fresh = importlib.util.module_from_spec(spec)  # a second instance, with its own state
    spec.loader.exec_module(fresh)
    payload = fresh.encode_batch(1, [b"k", 2])
    assert payload == encode_batch_python(1, [b"k", 2])
    for function in (fresh.decode_batch3, lambda data: fresh.coalesce([data])):
        with pytest.raises(RuntimeError, match="configure"):
            function(payload)


# ---------------------------------------------------------------------- differential


@EXAMPLES
@given(seqnos, batches)
def test_c_encodes_the_python_bytes_and_both_decode_them_back(c_codec, seqno, entries):
    payload = encode_batch_python(seqno, entries)
    assert c_codec.encode_batch(seqno, entries) == payload
    assert payload[:2] == TAG
    expected = (seqno, unlocked(entries))
    assert decode_batch3_python(payload) == expected
    decoded = c_codec.decode_batch3(payload)
    assert decoded == expected
    assert [type(part) for part in decoded[1]] == [type(part) for part in expected[1]]


@EXAMPLES
@given(st.lists(st.tuples(seqnos, batches), max_size=6))
def test_coalescing_in_c_equals_python_equals_a_dict_of_the_entries(c_codec, numbered):
    payloads = [encode_batch_python(seqno, entries) for seqno, entries in numbered]
    folded = c_codec.coalesce(payloads)
    assert type(folded) is Folded
    assert folded == coalesce_python(payloads) == model(numbered)
    assert all(type(part) is bytearray for part in folded.upserts[0::7] + folded.upserts[1::7])
    assert all(type(key) is bytearray for key in folded.deletes)


def test_an_empty_batch_and_no_payloads(codec):
    empty = encode_batch_python(5, [])
    assert empty == TAG + struct.pack("<QI", 5, 0)
    assert codec.encode_batch(5, []) == empty
    assert codec.decode_batch3(empty) == (5, [])
    assert codec.coalesce([]) == Folded([], [], 0, 0, 0)
    assert codec.coalesce([empty, empty]) == Folded([], [], 0, 5, 0)


def test_the_layout_is_the_documented_one(c_codec):
    record = (b"val", 0x11223344, 0x8877665544332211, 0x7F, 0x0102030405060708, 0xAABBCCDD, 9.5)
    entries = [b"key", record, b"gone", 42]
    payload = encode_batch_python(2**64 - 1, entries)
    assert payload == (b"\xcb\x03" + b"\xff" * 8 + b"\x02\x00\x00\x00"
                       + b"\x00" + b"\x03\x00" + b"\x03\x00\x00\x00" + b"\x44\x33\x22\x11"
                       + bytes.fromhex("1122334455667788") + b"\x7f"
                       + bytes.fromhex("0807060504030201") + b"\xdd\xcc\xbb\xaa" + b"key" + b"val"
                       + b"\x01" + b"\x04\x00" + (42).to_bytes(8, "little") + b"gone")
    assert c_codec.encode_batch(2**64 - 1, entries) == payload
    for version in range(5):  # the marshal layouts stay distinguishable
        assert marshal.dumps((2, 1, entries), version)[0] != TAG[0]
        assert marshal.dumps((1, [(b"key", record)]), version)[0] != TAG[0]


def test_the_newest_state_wins_across_payloads_in_first_seen_order(codec):
    first = encode_batch_python(7, [b"a", (b"1", 0, 5, 0, 1, 0, 0.0), b"b", 2,
                                    b"c", (b"3", 0, 2**64 - 1, 0, 3, 0, 0.0)])
    second = encode_batch_python(3, [b"c", 4, b"b", (b"5", 1, 2**63, 2, 5, 6, 0.0),
                                     b"a", (b"6", 0, 9, 0, 6, 0, 0.0), b"d", 7])
    folded = codec.coalesce([first, second])
    assert folded.upserts == [bytearray(b"a"), bytearray(b"6"), 0, 0, 9, 0, 6,
                              bytearray(b"b"), bytearray(b"5"), 1, 6, -(2**63), 2, 5]
    assert folded.deletes == [bytearray(b"c"), bytearray(b"d")]
    assert folded.max_cas == 2**63  # the deleted key's CAS 2**64-1 does not count
    assert (folded.seqno, folded.entries) == (7, 7)


def numbered_batches(count: int, size: int, distinct: int) -> list[tuple[int, list]]:
    """``count`` batches of ``size`` mutations (one in five a delete) over ``distinct`` keys."""
    numbered = []
    for n in range(count):
        entries: list = []
        for i in range(size):
            key = b"key-%d" % ((n * 1777 + i) % distinct)
            entries += [key, (b"v%d" % i, i, n * size + i, 0, i, 0, 0.0) if i % 5 else n * i]
        numbered.append((n, entries))
    return numbered


def test_many_distinct_keys_grow_the_table(c_codec):
    numbered = numbered_batches(4, 3000, 7000)
    payloads = [encode_batch_python(seqno, entries) for seqno, entries in numbered]
    folded = c_codec.coalesce(payloads)
    assert len(folded.upserts) // 7 + len(folded.deletes) == 7000
    assert folded == coalesce_python(payloads) == model(numbered)


def test_coalesce_takes_memoryview_slices_of_one_buffer_and_any_bytes_like(c_codec):
    numbered = numbered_batches(5, 400, 900)
    payloads = [encode_batch_python(seqno, entries) for seqno, entries in numbered]
    big = b"junk".join([b"", *payloads, b""])
    view = memoryview(big)
    slices, at = [], 4
    for payload in payloads:
        slices.append(view[at:at + len(payload)])
        at += len(payload) + 4
    expected = model(numbered)
    assert c_codec.coalesce(slices) == coalesce_python(slices) == expected
    mixed = (bytearray(payloads[0]), slices[1], payloads[2], memoryview(bytearray(payloads[3])),
             payloads[4])
    assert c_codec.coalesce(mixed) == coalesce_python(mixed) == expected
    assert c_codec.coalesce(iter(payloads)) == expected
    assert c_codec.decode_batch3(slices[2]) == decode_batch3_python(slices[2])


@pytest.mark.parametrize("payload", [None, 5, "text", [b"x"]], ids=repr)
def test_a_payload_that_is_not_bytes_like_is_a_type_error(c_codec, payload):
    for function in (c_codec.decode_batch3, decode_batch3_python):
        with pytest.raises(TypeError):
            function(payload)
    for function in (c_codec.coalesce, coalesce_python):
        with pytest.raises(TypeError):
            function([encode_batch_python(1, []), payload])
    with pytest.raises(TypeError):
        c_codec.coalesce(5)


# ------------------------------------------------------------------ malformed payloads

#: A small payload: a write and a delete.
SMALL = encode_batch_python(3, [b"ab", (b"xyz", 1, 2, 3, 4, 5, 0.0), b"c", 6])
FIRST_ENTRY = 14
SECOND_ENTRY = FIRST_ENTRY + 32 + 2 + 3


def patched(offset: int, raw: bytes, payload: bytes = SMALL) -> bytes:
    """``payload`` with ``raw`` written over it at ``offset``."""
    return payload[:offset] + raw + payload[offset + len(raw):]


MALFORMED = {
    "empty": (b"", "byte 0: truncated header (0 of 14 bytes)"),
    "bad first tag byte": (patched(0, b"\xcc"),
                           "byte 0: not a layout 3 batch (starts cc03, layout 3 starts cb03)"),
    "bad second tag byte": (patched(1, b"\x02"),
                            "byte 0: not a layout 3 batch (starts cb02, layout 3 starts cb03)"),
    "one wrong byte": (b"\x00", "byte 0: not a layout 3 batch (starts 00, layout 3 starts cb03)"),
    "half a tag": (b"\xcb", "byte 1: truncated header (1 of 14 bytes)"),
    "marshal layout 2": (marshal.dumps((2, 3, [b"ab", 6]), 2),
                         "byte 0: not a layout 3 batch (starts 2803, layout 3 starts cb03)"),
    "count too big": (patched(10, struct.pack("<I", 3)), "byte 63: payload ends after 2 of 3 "
                                                         "entries"),
    "count huge": (patched(10, struct.pack("<I", U32_MAX)), "byte 63: payload ends after 2 of "),
    "count too small": (patched(10, struct.pack("<I", 1)), "byte 51: 12 bytes after the last of "
                                                           "1 entries"),
    "count zero": (patched(10, struct.pack("<I", 0)), "byte 14: 49 bytes after the last of 0 "),
    "trailing garbage": (SMALL + b"\x00", "byte 63: 1 bytes after the last of 2 entries"),
    "kind 2": (patched(FIRST_ENTRY, b"\x02"), "byte 14: entry 0 has unknown kind 2 (0 is a "
                                               "write, 1 a delete)"),
    "kind 255 second": (patched(SECOND_ENTRY, b"\xff"), "byte 51: entry 1 has unknown kind 255"),
    "empty key": (patched(FIRST_ENTRY + 1, b"\x00\x00"), "byte 15: entry 0 has an empty key"),
    "empty deleted key": (patched(SECOND_ENTRY + 1, b"\x00\x00"), "byte 52: entry 1 has an "
                                                                    "empty key"),
    "value too long": (patched(FIRST_ENTRY + 3, b"\xff\xff\xff\xff"),
                       "byte 46: entry 0 truncated (17 bytes left, key and value need "
                       "4294967297)"),
    "key too long": (patched(SECOND_ENTRY + 1, b"\xff\xff"),
                     "byte 62: entry 1 truncated (1 bytes left, key and value need 65535)"),
    "write turned delete": (patched(FIRST_ENTRY, b"\x01"), "byte "),
    "delete turned write": (patched(SECOND_ENTRY, b"\x00"),
                            "byte 51: entry 1 truncated (12 bytes left, its header needs 32)"),
}
#: Every cut of SMALL short of its end.
TRUNCATED = {f"cut at {end}": (SMALL[:end], "byte ") for end in range(len(SMALL))}


def both_refuse(c_codec: ModuleType, payload: bytes) -> str:
    """The message both decoders and both coalesces give for a bad ``payload`` (as the
    second payload, for coalesce); they must agree on it."""
    c_error = outcome(c_codec.decode_batch3, payload)
    assert c_error[0] is BatchLayoutError, c_error
    assert outcome(decode_batch3_python, payload) == c_error
    good = encode_batch_python(1, [b"fine", 1])
    c_folded = outcome(c_codec.coalesce, [good, memoryview(payload), good])
    assert c_folded == (BatchLayoutError, f"payload 1: {c_error[1]}")
    assert outcome(coalesce_python, [good, memoryview(payload), good]) == c_folded
    return c_error[1]


@pytest.mark.parametrize("payload, message", [*MALFORMED.values(), *TRUNCATED.values()],
                         ids=[*MALFORMED, *TRUNCATED])
def test_a_malformed_payload_is_refused_alike_naming_the_byte(c_codec, payload, message):
    text = both_refuse(c_codec, payload)
    assert text.startswith(message)
    assert text.startswith("byte ")


def test_every_single_byte_change_is_read_alike(c_codec):
    for offset in range(len(SMALL)):
        for byte in (0, 1, 2, 0x7F, 0xFF):
            payload = patched(offset, bytes([byte]))
            c_result = outcome(c_codec.decode_batch3, payload)
            assert outcome(decode_batch3_python, payload) == c_result, (offset, byte)


@EXAMPLES
@given(seqnos, batches, st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 3),
                                            st.binary(max_size=4)), min_size=1, max_size=4))
def test_damaged_payloads_are_read_alike(c_codec, seqno, entries, damage):
    payload = encode_batch_python(seqno, entries)
    for at, cut, raw in damage:  # replace ``cut`` bytes at ``at`` with ``raw``
        at %= len(payload) + 1
        payload = payload[:at] + raw + payload[at + cut:]
    c_result = outcome(c_codec.decode_batch3, payload)
    assert outcome(decode_batch3_python, payload) == c_result
    assert c_result[0] in ("ok", BatchLayoutError)
    folded = outcome(c_codec.coalesce, [payload])
    assert outcome(coalesce_python, [payload]) == folded


def test_a_bad_payload_releases_the_buffers_it_held(c_codec):
    data = bytearray(SMALL)
    for _ in range(3):
        with pytest.raises(BatchLayoutError):
            c_codec.coalesce([bytearray(SMALL), data + b"\x00"])
        with pytest.raises(BatchLayoutError):
            c_codec.coalesce([data, b"bad"])
    data += b"grows"  # a buffer still exported would refuse the resize


# ----------------------------------------------------------------- what encode refuses

GOOD = (b"v", 1, 2, 3, 4, 5, 0.0)


class Key(bytes):
    """A bytes subclass: refused as a key."""


def record(**fields: Any) -> tuple:
    """GOOD with some fields replaced."""
    names = ("value", "flags", "cas", "datatype", "seqno", "expiry", "lock_expiry")
    return tuple(fields.get(name, default) for name, default in zip(names, GOOD))


#: (key, state) of entry 2 (after two good ones), the error type and message tail.
BAD_ENTRIES = [
    ("k", GOOD, TypeError, "the key must be bytes, not str"),
    (bytearray(b"k"), GOOD, TypeError, "the key must be bytes, not bytearray"),
    (Key(b"k"), GOOD, TypeError, "the key must be bytes, not Key"),
    (b"", GOOD, ValueError, "the key is 0 bytes long (1..65535 allowed)"),
    (b"k" * (U16_MAX + 1), GOOD, ValueError, "the key is 65536 bytes long (1..65535 allowed)"),
    (b"k", None, TypeError, "the state must be a record tuple of 7 items or a delete's seqno "
                            "(an int), not NoneType"),
    (b"k", GOOD[:6], TypeError, "not a tuple of 6 items"),
    (b"k", list(GOOD), TypeError, "not list"),
    (b"k", 1.0, TypeError, "not float"),
    (b"k", True, TypeError, "not bool"),
    (b"k", -1, ValueError, "the delete's seqno -1 is out of range 0..18446744073709551615"),
    (b"k", 2**64, ValueError, "the delete's seqno 18446744073709551616 is out of range"),
    (b"k", record(value="v"), TypeError, "value must be bytes, not str"),
    (b"k", record(value=bytearray(b"v")), TypeError, "value must be bytes, not bytearray"),
    (b"k", record(value=memoryview(b"v")), TypeError, "value must be bytes, not memoryview"),
    (b"k", record(flags=-1), ValueError, "flags -1 is out of range 0..4294967295"),
    (b"k", record(flags=2**32), ValueError, "flags 4294967296 is out of range 0..4294967295"),
    (b"k", record(flags=True), TypeError, "flags must be an int, not bool"),
    (b"k", record(flags=1.0), TypeError, "flags must be an int, not float"),
    (b"k", record(cas=-1), ValueError, "cas -1 is out of range 0..18446744073709551615"),
    (b"k", record(cas=2**64), ValueError, "cas 18446744073709551616 is out of range"),
    (b"k", record(cas=-(2**70)), ValueError, f"cas {-(2**70)} is out of range"),
    (b"k", record(cas=None), TypeError, "cas must be an int, not NoneType"),
    (b"k", record(datatype=256), ValueError, "datatype 256 is out of range 0..255"),
    (b"k", record(datatype=-1), ValueError, "datatype -1 is out of range 0..255"),
    (b"k", record(seqno=2**64), ValueError, "seqno 18446744073709551616 is out of range"),
    (b"k", record(seqno="1"), TypeError, "seqno must be an int, not str"),
    (b"k", record(expiry=2**32), ValueError, "expiry 4294967296 is out of range 0..4294967295"),
    (b"k", record(expiry=1.5), TypeError, "expiry must be an int, not float"),
    (b"k", record(flags=-1, cas="x"), ValueError, "flags -1 is out of range"),
    (b"k", record(value=1, flags=-1), TypeError, "value must be bytes, not int"),
    ("k", record(flags=-1), TypeError, "the key must be bytes"),
]


@pytest.mark.parametrize("key, state, error, message", BAD_ENTRIES,
                         ids=[f"{n}-{case[3][:30]}" for n, case in enumerate(BAD_ENTRIES)])
def test_a_bad_entry_is_refused_alike_naming_its_index_and_field(c_codec, key, state, error,
                                                                  message):
    entries = [b"a", GOOD, b"b", 7, key, state, b"k", -5]
    c_error = outcome(c_codec.encode_batch, 1, entries)
    assert c_error == outcome(encode_batch_python, 1, entries)
    assert c_error[0] is error
    assert c_error[1].startswith("encode_batch: entry 2: ")
    assert message in c_error[1]


@pytest.mark.parametrize("seqno, entries, error, message", [
    (-1, [], ValueError, "encode_batch: the batch seqno -1 is out of range "
                         "0..18446744073709551615"),
    (2**64, [], ValueError, "encode_batch: the batch seqno 18446744073709551616 is out of "),
    (1.0, [], TypeError, "encode_batch: the batch seqno must be an int, not float"),
    (False, [], TypeError, "encode_batch: the batch seqno must be an int, not bool"),
    (1, (b"k", 1), TypeError, "encode_batch: entries must be a list, not tuple"),
    (1, [b"k", 1, b"j"], ValueError, "encode_batch: entries must hold key, state pairs (odd "
                                     "length 3)"),
], ids=["negative", "too big", "float", "bool", "tuple", "odd"])
def test_a_bad_batch_is_refused_alike(c_codec, seqno, entries, error, message):
    c_error = outcome(c_codec.encode_batch, seqno, entries)
    assert c_error == outcome(encode_batch_python, seqno, entries)
    assert c_error[0] is error
    assert c_error[1].startswith(message)


# ------------------------------------------------------------ leaks, refcounts, threads


def test_many_calls_leak_neither_memory_nor_references(c_codec):
    entries = [b"key-1", (b"value" * 20, 1, 2**64 - 1, 3, 4, 5, 0.0), b"key-2", 9,
               b"key-1", (b"other", 0, 7, 0, 8, 0, 0.0)]
    payload = c_codec.encode_batch(3, entries)
    big = encode_batch_python(4, numbered_batches(1, 2000, 1500)[0][1])  # lets go of the GIL
    bad_entries = [b"key-1", (b"v", -1, 0, 0, 0, 0, 0.0)]
    bad_payload = payload + b"\x00"

    def run() -> None:
        for _ in range(CALLS):
            c_codec.encode_batch(3, entries)
            c_codec.decode_batch3(payload)
            c_codec.coalesce([payload, memoryview(big)])
            for function, args in ((c_codec.encode_batch, (3, bad_entries)),
                                   (c_codec.decode_batch3, (bad_payload,)),
                                   (c_codec.coalesce, ([big, bad_payload],)),
                                   (c_codec.coalesce, ([payload, None],))):
                with pytest.raises((BatchLayoutError, TypeError, ValueError)):
                    function(*args)

    run()
    watched = [payload, big, bad_payload, entries, bad_entries, entries[1], entries[5]]
    before = [sys.getrefcount(each) for each in watched]
    growth = traced_growth(run, __file__)
    assert growth < GROWTH_LIMIT, growth
    assert [sys.getrefcount(each) for each in watched] == before


def test_results_are_owned_by_their_holders_only(c_codec):
    payload = c_codec.encode_batch(1, [b"k", (b"v", 0, 1, 0, 1, 0, 0.0)])
    alone = bytes(bytearray(b"held by one name"))
    assert sys.getrefcount(payload) == sys.getrefcount(alone)
    folded = c_codec.coalesce([payload])
    assert sys.getrefcount(folded.upserts) == sys.getrefcount(folded.deletes)
    key, value = folded.upserts[:2]
    listed = [bytearray(b"held by a list and a name")]
    held = listed[0]
    assert sys.getrefcount(key) == sys.getrefcount(value) == sys.getrefcount(held)
    _, entries = c_codec.decode_batch3(payload)
    assert sys.getrefcount(entries) == sys.getrefcount(listed)


def test_threads_coalesce_and_encode_at_once(c_codec):
    numbered = numbered_batches(6, 1500, 4000)
    payloads = [encode_batch_python(seqno, entries) for seqno, entries in numbered]
    expected = model(numbered)
    results: dict[int, bool] = {}

    def work(n: int) -> None:
        same = True
        for _ in range(4):
            same &= c_codec.coalesce(payloads) == expected
            same &= c_codec.encode_batch(*numbered[n % 6]) == payloads[n % 6]
        results[n] = same

    run_threads(work, 4)
    assert results == {n: True for n in range(4)}
