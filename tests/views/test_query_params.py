"""View query options: converters, ranges, passthrough, unknown options, encoding."""
import copy
import pickle

import pytest

from couchbase.exceptions import ArgumentError
from couchbase.views import params as P
from couchbase.views.params import (UNSPEC, Params, Query, make_dvpath,
                                    make_options_string)


def enc(**kw):
    return Query(**kw).encoded


def test_constants():
    assert (P.STALE_UPDATE_BEFORE, P.STALE_UPDATE_AFTER, P.STALE_OK) == \
        ("false", "update_after", "ok")
    assert (P.ONERROR_CONTINUE, P.ONERROR_STOP) == ("continue", "stop")
    assert Query.STRING_RANGE_END == "\u0fff" and len(Query.STRING_RANGE_END) == 1


def test_unspec_placeholder():
    assert not UNSPEC
    assert str(UNSPEC) == "" and repr(UNSPEC) == "<Placeholder>"
    assert type(UNSPEC)() is UNSPEC
    assert copy.deepcopy(UNSPEC) is UNSPEC and copy.copy(UNSPEC) is UNSPEC
    assert pickle.loads(pickle.dumps(UNSPEC)) is UNSPEC


def test_params_names():
    names = ["descending", "startkey", "startkey_docid", "endkey", "endkey_docid", "key",
             "keys", "inclusive_end", "group", "group_level", "reduce", "skip", "limit",
             "on_error", "stale", "debug", "connection_timeout", "full_set",
             "mapkey_single", "mapkey_multi", "mapkey_range", "dockey_range"]
    assert all(getattr(Params, name) == name for name in names)


def test_handler_map_has_exactly_eighteen_options():
    assert sorted(P._HANDLER_MAP) == sorted([
        "descending", "full_set", "group", "inclusive_end", "reduce", "debug",
        "group_level", "skip", "limit", "connection_timeout", "startkey", "endkey", "key",
        "keys", "startkey_docid", "endkey_docid", "on_error", "stale"])


# -- the spec's encoding examples ----------------------------------------------------

def test_stale_true_is_ok():
    assert enc(stale=True) == "stale=ok"


def test_mapkey_range_example():
    assert enc(mapkey_range=["foo", "bar"]) == "startkey=%22foo%22&endkey=%22bar%22"


def test_keys_example():
    assert enc(keys=["a", "b"]) == "keys=%5B%22a%22%2C%20%22b%22%5D"


def test_dockey_range_single_element():
    assert enc(dockey_range=["bar"]) == "startkey_docid=bar"


def test_json_values_are_ascii_escaped_and_quoted():
    assert enc(startkey="a" + Query.STRING_RANGE_END) == "startkey=%22a%5Cu0fff%22"
    assert enc(key=[1, {"a": None}]) == "key=%5B1%2C%20%7B%22a%22%3A%20null%7D%5D"


def test_string_values_are_percent_quoted_with_slash_safe():
    assert enc(startkey_docid="a b/c&d") == "startkey_docid=a%20b/c%26d"
    assert enc(endkey_docid=12) == "endkey_docid=12"
    assert enc(endkey_docid=1.5) == "endkey_docid=1.5"


def test_insertion_order_is_kept():
    assert enc(limit=3, skip=1, stale=False) == "limit=3&skip=1&stale=false"
    assert enc(stale=False, limit=3) == "stale=false&limit=3"


# -- converters -----------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [(True, "true"), (False, "false"),
                                         ("true", "true"), ("false", "false"), (1, "true"),
                                         (0, "false"), (2.5, "true"), (0.0, "false")])
def test_bool_converter(value, text):
    assert enc(descending=value) == f"descending={text}"


@pytest.mark.parametrize("value", [None, {}, [], "yes", "True", object()])
def test_bool_converter_rejects(value):
    with pytest.raises(ArgumentError):
        Query(reduce=value)


@pytest.mark.parametrize("value, text", [(42, "42"), ("42", "42"), (-1, "-1"), (3.9, "3")])
def test_num_converter(value, text):
    assert enc(limit=value) == f"limit={text}"


@pytest.mark.parametrize("value", [True, False, "blah", None, [1], "4.5"])
def test_num_converter_rejects(value):
    with pytest.raises(ArgumentError):
        Query(skip=value)


@pytest.mark.parametrize("value", [True, None, ["x"], {"a": 1}, b"bytes"])
def test_string_converter_rejects(value):
    with pytest.raises(ArgumentError):
        Query(startkey_docid=value)


def test_json_converter_rejects_unserializable():
    with pytest.raises(ArgumentError) as info:
        Query(startkey=object())
    assert isinstance(info.value.inner_cause, TypeError)


@pytest.mark.parametrize("value", ["a", 1, {"a": 1}, None])
def test_json_array_converter_rejects_non_arrays(value):
    with pytest.raises(ArgumentError):
        Query(keys=value)


def test_json_array_accepts_tuples():
    assert enc(keys=("a",)) == "keys=%5B%22a%22%5D"


@pytest.mark.parametrize("value, text", [("ok", "ok"), ("false", "false"),
                                         ("update_after", "update_after"), (True, "ok"),
                                         (1, "ok"), (False, "false"), (0, "false"),
                                         ("true", "ok")])
def test_stale_converter(value, text):
    assert enc(stale=value) == f"stale={text}"


@pytest.mark.parametrize("value", [None, "blah", "update_before", {}])
def test_stale_converter_rejects(value):
    with pytest.raises(ArgumentError):
        Query(stale=value)


def test_on_error_converter():
    assert enc(on_error="continue") == "on_error=continue"
    assert enc(on_error="stop") == "on_error=stop"
    for bad in ("abort", True, None, 1):
        with pytest.raises(ArgumentError):
            Query(on_error=bad)


def test_error_names_the_option():
    with pytest.raises(ArgumentError, match="limit") as info:
        Query(limit="many")
    assert info.value.objextra == "many"


# -- properties, aliases and UNSPEC -------------------------------------------------------

def test_getter_returns_user_value_else_unspec():
    q = Query(limit=10, stale=True)
    assert q.limit == 10 and q.stale is True
    assert q.skip is UNSPEC and q.startkey is UNSPEC


def test_setting_unspec_removes_the_option():
    q = Query(limit=10, skip=2)
    q.limit = UNSPEC
    assert q.encoded == "skip=2" and q.limit is UNSPEC
    q.update(skip=UNSPEC)
    assert q.encoded == ""


def test_aliases():
    q = Query(mapkey_single="k")
    assert q.key == "k" and q.mapkey_single == "k" and q.encoded == "key=%22k%22"
    q = Query(mapkey_multi=["a"])
    assert q.keys == ["a"] and q.encoded == "keys=%5B%22a%22%5D"


def test_manual_query_object_example():
    q = Query()
    q.limit = 3
    q.skip = 1
    q.stale = False
    assert q.encoded == "limit=3&skip=1&stale=false"
    assert repr(q) == "Query:'limit=3&skip=1&stale=false'"


# -- ranges ---------------------------------------------------------------------------------

def test_range_getter_gives_the_converted_text():
    q = Query()
    q.mapkey_range = [["a"], "b"]
    assert q.startkey == '["a"]' and q.endkey == '"b"'
    assert q.mapkey_range == ['["a"]', '"b"']


def test_manual_prefix_search():
    q = Query()
    q.mapkey_range = ["abbaye", "abbaye" + Query.STRING_RANGE_END]
    q.limit = 3
    assert q.encoded == "startkey=%22abbaye%22&endkey=%22abbaye%5Cu0fff%22&limit=3"


def test_one_element_range_sets_only_the_start_even_for_tuples():
    q = Query(mapkey_range=["a", "z"])
    q.mapkey_range = ("b",)
    assert q.encoded == "startkey=%22b%22"
    assert q.endkey is UNSPEC


def test_range_elements_may_be_unspec():
    assert enc(mapkey_range=[UNSPEC, "z"]) == "endkey=%22z%22"
    assert enc(dockey_range=["a", UNSPEC]) == "startkey_docid=a"


@pytest.mark.parametrize("empty", [[], (), UNSPEC])
def test_empty_range_clears_both(empty):
    q = Query(dockey_range=["a", "b"], limit=1)
    q.dockey_range = empty
    assert q.encoded == "limit=1"


@pytest.mark.parametrize("value", ["ab", {"a": 1}, None, 5, ["a", "b", "c"]])
def test_bad_ranges(value):
    with pytest.raises(ArgumentError):
        Query(mapkey_range=value)


def test_range_conflicts_with_directly_set_options():
    with pytest.raises(ArgumentError):
        Query(startkey="a", mapkey_range=["b", "c"])
    q = Query(endkey_docid="x")
    with pytest.raises(ArgumentError):
        q.dockey_range = ["a"]
    assert q.encoded == "endkey_docid=x"


def test_direct_option_may_follow_a_range():
    q = Query(mapkey_range=["a", "b"])
    q.startkey = "c"
    assert q.encoded == "startkey=%22c%22&endkey=%22b%22"


def test_range_element_errors_are_argument_errors():
    with pytest.raises(ArgumentError):
        Query(dockey_range=[None, "b"])


# -- passthrough and unrecognized options ---------------------------------------------------

def test_passthrough_uses_strings_unquoted():
    q = Query(passthrough=True, startkey='["a b"]', limit=5, stale="ok")
    assert q.encoded == 'startkey=["a b"]&limit=5&stale=ok'
    assert q.has_blob


def test_passthrough_still_rejects_unknown_options_and_non_strings():
    with pytest.raises(ArgumentError):
        Query(passthrough=True, bogus="1")
    with pytest.raises(ArgumentError):
        Query(passthrough=True, stale=True)


def test_unrecognized_ok_appends_raw_extras_after_known_ones():
    q = Query(unrecognized_ok=True, foo="a b", limit=1, bar=2)
    assert q.encoded == "limit=1&foo=a b&bar=2"
    assert q.has_blob
    q.update(foo=UNSPEC)
    assert q.encoded == "limit=1&bar=2"


def test_unrecognized_option_is_rejected_by_default():
    with pytest.raises(ArgumentError, match="bogus"):
        Query(bogus=1)
    with pytest.raises(ArgumentError):
        Query(unrecognized_ok=True, bogus=True)


def test_has_blob_false_for_plain_queries():
    assert not Query(limit=1).has_blob


# -- update, from_any, make_options_string, make_dvpath ----------------------------------

def test_update_returns_self_or_a_copy():
    q = Query(limit=1)
    assert q.update(skip=2) is q and q.encoded == "limit=1&skip=2"
    other = q.update(copy=True, limit=5)
    assert other is not q
    assert other.encoded == "limit=5&skip=2" and q.encoded == "limit=1&skip=2"


def test_from_any():
    q = Query(limit=1)
    copied = Query.from_any(q)
    assert copied is not q and copied.encoded == "limit=1"
    copied.limit = 2
    assert q.limit == 1
    assert Query.from_any({"limit": 3, "stale": False}).encoded == "limit=3&stale=false"
    with pytest.raises(ArgumentError):
        Query.from_any(["limit", 3])
    with pytest.raises(ArgumentError):
        Query.from_any(None)


def test_from_any_string_is_a_base_string():
    q = Query.from_any("limit=3&skip=1&stale=false")
    assert q.encoded == "limit=3&skip=1&stale=false&"
    assert q.has_blob
    q.descending = True
    assert q.encoded == "limit=3&skip=1&stale=false&descending=true"


def test_make_options_string():
    assert make_options_string({"limit": 2, "foo": "x y"}, unrecognized_ok=True) == \
        "limit=2&foo=x y"
    assert make_options_string({"startkey": "[1]"}, passthrough=True) == "startkey=[1]"
    assert make_options_string(Query(skip=4)) == "skip=4"
    with pytest.raises(ArgumentError):
        make_options_string({"foo": 1})
    with pytest.raises(ArgumentError):
        make_options_string("limit=1")


def test_make_dvpath():
    assert make_dvpath("beer", "by_name") == "_design/beer/_view/by_name?"


def test_group_does_not_imply_reduce():
    assert enc(group=True) == "group=true"
    assert enc(group_level=2) == "group_level=2"


def test_copy_is_not_an_option_of_the_constructor():
    with pytest.raises(ArgumentError, match="copy"):
        Query(copy=True)
