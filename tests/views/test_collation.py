"""View key collation: type order, ICU string order, arrays, objects, numbers."""
import json
import random

from hypothesis import given, strategies as st

from cbserver.views.collation import collate, sort_key

ORDERED = [
    None, False, True,
    -1e300, -2, -1.5, 0, 1, 1.5, 2, 1e300,
    "", "a", "A", "á", "Á", "ä", "aa", "ab", "abc123", "ABC123", "abc223", "b", "B", "z",
    [], [None], [False], [1], [1, 2], [1, 2, 3], [2], ["a"], ["a", None], ["b"], [[]],
    {}, {"a": 1}, {"a": 1, "b": 2}, {"a": 2}, {"b": 1},
]


def test_documented_order_is_kept():
    shuffled = ORDERED[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == ORDERED


def test_icu_rules_case_and_accents():
    assert sorted(["ABC123", "abc223", "abc123"], key=sort_key) == ["abc123", "ABC123", "abc223"]
    # UCA: accents are secondary differences, so they outrank case (tertiary)
    assert sorted(["b", "Á", "A", "á", "a"], key=sort_key) == ["a", "A", "á", "Á", "b"]
    assert sorted(["Zoë", "zoe", "Zoe", "zoë", "Zoey"], key=sort_key) == ["zoe", "Zoe", "zoë", "Zoë", "Zoey"]
    assert collate("résumé", "resume") > 0
    assert collate("resume", "Resumes") < 0


def test_unicode_collation_differs_from_code_points():
    words = ["Ähre", "apple", "Zebra", "zebra", "éclair", "Eclair"]
    by_uca = sorted(words, key=sort_key)
    assert by_uca == ["Ähre", "apple", "Eclair", "éclair", "zebra", "Zebra"]
    assert by_uca != sorted(words)


def test_numbers_compare_as_doubles():
    assert collate(1, 1.0) == 0
    assert collate(0, -0.0) == 0
    assert collate(10, 9.99) > 0
    assert collate(-10, -9) < 0
    assert collate(10 ** 400, 1e308) > 0


def test_shorter_array_prefix_sorts_first():
    assert collate(["a"], ["a", "b"]) < 0
    assert collate(["a", "b"], ["a", "\u0fff"]) < 0
    assert collate(["a", "zzz"], ["a", "\u0fff"]) < 0
    assert collate(["a", [1]], ["a", [1, 0]]) < 0


def test_objects_compare_members_in_stored_order():
    assert collate({"b": 1, "a": 1}, {"a": 1, "b": 1}) > 0
    assert collate({"a": 1}, {"a": 1, "b": 0}) < 0


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12)

TYPE_RANK = {type(None): 0, bool: 1, int: 2, float: 2, str: 3, list: 4, dict: 5}


def reference(a, b):
    """Slow recursive comparison following protocol.md 7.4 (strings via sort_key)."""
    ra, rb = TYPE_RANK[type(a)], TYPE_RANK[type(b)]
    if ra != rb:
        return ra - rb
    if a is None:
        return 0
    if isinstance(a, bool):
        return int(a) - int(b)
    if isinstance(a, (int, float)):
        return (float(a) > float(b)) - (float(a) < float(b))
    if isinstance(a, str):
        return (sort_key(a) > sort_key(b)) - (sort_key(a) < sort_key(b))
    if isinstance(a, dict):
        a = [x for kv in a.items() for x in kv]
        b = [x for kv in b.items() for x in kv]
    for x, y in zip(a, b):
        c = reference(x, y)
        if c:
            return c
    return len(a) - len(b)


@given(json_values, json_values)
def test_byte_order_matches_recursive_comparison(a, b):
    expected = reference(a, b)
    got = collate(a, b)
    assert (got > 0) == (expected > 0) and (got < 0) == (expected < 0), (json.dumps(a), json.dumps(b))
