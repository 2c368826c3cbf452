"""The C document cutter keeps exactly the named members of strictly valid JSON objects
and returns every other value itself: a hypothesis differential against Python's strict
json parser over generated objects and their mutations, plus one case per rule."""
from __future__ import annotations

import json
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from .json_texts import KEPT_NAMES, MAX_DEPTH, OBJECTS, Pairs, parse_pairs, reference_object

_json_cut = pytest.importorskip("cbserver.views._json_cut")
cut = _json_cut.cut

NAMES = tuple(name.encode() for name in KEPT_NAMES)
KEPT = set(KEPT_NAMES)
#: Byte strings whose insertion breaks JSON or UTF-8 (invalid sequences, controls, ...).
BREAKERS = [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"\xff",
            b"\x80", b"\xc3", b"\xf0\x9f\x98", b"\x00", b"\x1e", b"\x7f", b"\x0b", b"\xa0",
            b"NaN", b"Infinity", b"-", b"01", b"1.", b".5", b"+1", b"1e", b"\\x41", b"\\u12",
            b"'", b",", b":", b"}", b"]", b"{", b"[", b'"', b"\\", b"tru", b"nul",
            b"\xef\xbb\xbf", b"//", b"\xd9\xa1"]
SETTINGS = settings(max_examples=800, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def cut_one(value: bytes, names: tuple[bytes, ...] = NAMES) -> bytes:
    return cut([value], names)[0]


def check_against_reference(value: bytes, names: tuple[bytes, ...] = NAMES) -> None:
    """Assert the cut of ``value`` is what the strict reference says it must be."""
    result = cut_one(value, names)
    reference = reference_object(value)
    if reference is None:
        assert result is value
        return
    assert result is not value
    kept = {name.decode() for name in names}
    pairs = parse_pairs(result)
    assert isinstance(pairs, Pairs)
    assert [p for p in pairs if p[0] in kept] == [p for p in reference if p[0] in kept]
    remaining = iter(reference)
    assert all(any(pair == other for other in remaining) for pair in pairs)


@SETTINGS
@given(OBJECTS)
def test_a_generated_object_keeps_exactly_its_named_or_escaped_members(generated):
    value, members = generated
    expected = "{" + ",".join(m.text for m in members if m.escaped or m.name in KEPT) + "}"
    assert cut_one(value) == expected.encode()
    check_against_reference(value)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A generated object with one mutation: a byte changed, cut short, an insertion or
    deep nesting."""
    value, _ = draw(OBJECTS)
    at = draw(st.integers(0, len(value)))
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "nest", "trail"]))
    if kind == "flip" and value:
        at = min(at, len(value) - 1)
        return value[:at] + bytes([draw(st.integers(0, 255))]) + value[at + 1:]
    if kind == "truncate":
        return value[:at]
    if kind == "nest":
        levels = draw(st.integers(MAX_DEPTH - 3, MAX_DEPTH + 2))
        return b'{"type":' + b"[" * levels + b"1" + b"]" * levels + b"," + value[1:]
    if kind == "trail":
        return value + draw(st.sampled_from(BREAKERS + [b" ", b"\n\t\r", b"{}", b"1"]))
    return value[:at] + draw(st.sampled_from(BREAKERS)) + value[at:]


@SETTINGS
@given(mutated())
@example(b'{"type": 1} x')
@example(b'{"a": 01}')
def test_a_mutated_object_is_either_cut_as_the_reference_says_or_returned_itself(value):
    check_against_reference(value)


@SETTINGS
@given(st.binary(max_size=40))
def test_random_bytes_are_cut_as_the_reference_says(value):
    check_against_reference(value)


@pytest.mark.parametrize("value", [
    b"", b" ", b"[]", b'"text"', b"1", b"null", b'[{"type": 1}]',       # not an object
    b'{"type": 1}}', b'{"type": 1} x', b'{"type": 1}\x00',                # trailing data
    b'\xef\xbb\xbf{"type": 1}', b'\x0b{"type": 1}', b'\xc2\xa0{"type": 1}',  # not space
    b'{"type": 1,}', b'{"type" 1}', b'{type: 1}', b"{'type': 1}", b'{"type": 1 "a": 2}',
    b'{"b": "x\ty"}', b'{"b": "x\x1fy"}', b'{"b": "\x1e"}',               # raw controls
    b'{"b": "\\x41"}', b'{"b": "\\a"}', b'{"b": "\\u12g4"}', b'{"b": "\\u12"}',
    b'{"b": 01}', b'{"b": 1.}', b'{"b": .5}', b'{"b": +1}', b'{"b": 1e}', b'{"b": -}',
    b'{"b": 0x10}', b'{"b": NaN}', b'{"b": Infinity}', b'{"b": -Infinity}', b'{"b": tru}',
    b'{"b": True}', b'{"b": undefined}', b'{"b": [1,]}', b'{"b": [,1]}', b'{"b": "x}',
    b'{"b": "\xc0\xaf"}', b'{"b": "\xed\xa0\x80"}', b'{"b": "\xf4\x90\x80\x80"}',
    b'{"b": "\xe0\x9f\xbf"}', b'{"b": "\xf0\x8f\xbf\xbf"}', b'{"b": "\xc3"}', b'{"b": "\x80"}',
    b'{"b": "\xf5\x80\x80\x80"}', b'{"b": "\xff"}', b'{"b": 1}\xff',
    b'{"b": \xd9\xa1}',                                                    # Arabic digit
    b'{"b": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",              # 65 levels
])
def test_values_that_are_not_strict_json_objects_are_returned_themselves(value):
    assert reference_object(value) is None
    assert cut_one(value) is value


@pytest.mark.parametrize("value, expected", [
    (b'{"type": "beer", "name": "x", "city": "y"}', b'{"type": "beer","city": "y"}'),
    (b' \t\r\n{ "type"\n:\r1 , "b":2 }\r\n', b'{"type"\n:\r1}'),
    (b'{"b": {"type": 1}, "a": [1, {"type": 2}]}', b'{"a": [1, {"type": 2}]}'),
    (b'{"type": 1, "b": 2, "type": 3}', b'{"type": 1,"type": 3}'),          # duplicates
    (b'{"typ": 1, "types": 2, "Type": 3, "": 4}', b"{}"),                 # near names
    (b'{"t\\u0079pe": 1, "\\u0062": 2, "b\\/": 3}',                        # escaped: kept
     b'{"t\\u0079pe": 1,"\\u0062": 2,"b\\/": 3}'),
    (b'{"\xc3\xa9t\xc3\xa9": "\xe6\xbc\xa2\xf0\x9f\x98\x80", "b": "\xed\x9f\xbf"}',
     b'{"\xc3\xa9t\xc3\xa9": "\xe6\xbc\xa2\xf0\x9f\x98\x80"}'),
    (b'{"b": "\xf4\x8f\xbf\xbf\xee\x80\x80", "a": "\\ud800"}', b'{"a": "\\ud800"}'),
    (b'{"a": -0.5e+10, "b": 1E-2, "city": 0}', b'{"a": -0.5e+10,"city": 0}'),
    (b'{"a": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uABCD"}',
     b'{"a": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uABCD"}'),
    (b'{"a": true, "b": false, "city": null}', b'{"a": true,"city": null}'),
    (b"{}", b"{}"), (b" { } ", b"{}"), (b'{"b": 1}', b"{}"),
    (b'{"b": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}", b"{}"),
])
def test_each_rule_on_a_hand_written_object(value, expected):
    assert cut_one(value) == expected
    check_against_reference(value)


def test_empty_names_cut_every_valid_object_to_an_empty_one():
    values = [b'{"type": 1}', b'{"t\\u0079pe": 1}', b"[1]", b'{"a": }']
    assert cut(values, ()) == [b"{}", b'{"t\\u0079pe": 1}', values[2], values[3]]


def test_objects_that_are_not_bytes_are_returned_themselves():
    odd = [bytearray(b'{"type": 1}'), memoryview(b'{"type": 1}'), "text", None]
    assert all(a is b for a, b in zip(cut(odd, NAMES), odd))


def test_a_tuple_of_values_is_accepted_and_a_list_is_always_returned():
    assert cut((b'{"type": 1, "b": 2}',), NAMES) == [b'{"type": 1}']
    assert cut([], NAMES) == []


def test_a_big_document_is_cut_and_its_dropped_members_still_checked():
    big = {"type": "t", "blob": "x" * 100_000, "list": list(range(10_000))}
    value = json.dumps(big).encode()
    assert cut_one(value) == b'{"type": "t"}'
    broken = value[:-200] + b"\xff" + value[-199:]
    assert cut_one(broken) is broken


@pytest.mark.parametrize("args, error", [
    (([b"{}"], [b"type"]), TypeError),              # names must be a tuple
    (([b"{}"], ("type",)), TypeError),              # of bytes
    (([b"{}"], (b"type", 1)), TypeError),
    ((1, NAMES), TypeError),                        # values must be a sequence
    ((b'{"type": 1}', NAMES), TypeError),           # a sequence of ints is refused
    (([b"{}"],), TypeError),
    (([b"{}"], NAMES, 1), TypeError),
], ids=["list-names", "str-names", "int-name", "int-values", "bytes-values", "one-arg",
        "three-args"])
def test_bad_arguments_raise_typed_errors(args, error):
    with pytest.raises(error):
        cut(*args)


def test_the_module_exports_its_depth_limit():
    assert _json_cut.MAX_DEPTH == MAX_DEPTH


@st.composite
def many_values(draw: st.DrawFn) -> list:
    """A batch of generated, mutated and odd values long enough to be scanned without the
    GIL (padded with one big member past the release threshold)."""
    values = draw(st.lists(st.one_of(OBJECTS.map(lambda generated: generated[0]), mutated(),
                                     st.sampled_from([b"", b"{}", "text", None])),
                           max_size=30))
    pad = json.dumps({"type": 1, "pad": "p" * _json_cut.RELEASE_GIL_BYTES}).encode()
    at = draw(st.integers(0, len(values)))
    return values[:at] + [pad] + values[at:]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_values())
def test_a_batch_scanned_without_the_gil_equals_each_value_cut_alone(values):
    assert sum(len(v) for v in values if isinstance(v, bytes)) >= _json_cut.RELEASE_GIL_BYTES
    together = cut(values, NAMES)
    alone = [cut_one(value) for value in values]
    assert together == alone
    assert [a is v for a, v in zip(together, values)] == [a is v for a, v in zip(alone, values)]


def _other_thread_ran_during(call) -> bool:
    """Tell whether another thread ran Python code while ``call()`` ran, with the switch
    interval so long that it can only run when the calling thread lets go of the GIL."""
    ran, stop = [], threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ran.append(1)
            time.sleep(0)

    interval = sys.getswitchinterval()
    thread = threading.Thread(target=spin)
    thread.start()
    sys.setswitchinterval(1000.0)
    try:
        time.sleep(0.01)  # let the thread reach its loop
        for _ in range(20):
            before = len(ran)
            call()
            if len(ran) != before:
                return True
        return False
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        thread.join()


def test_a_big_batch_lets_other_threads_run_and_a_small_one_does_not():
    big = [json.dumps({"type": n, "blob": "b" * 4000}).encode() for n in range(1000)]
    small = big[:2]
    assert _other_thread_ran_during(lambda: cut(big, NAMES))
    assert not _other_thread_ran_during(lambda: cut(small, NAMES))
