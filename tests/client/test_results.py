"""Result classes: read-only attributes, success rules and the exact 1.0 reprs."""
import gc
import pickle

import pytest

from couchbase import _libcouchbase as C
from couchbase.result import (Arguments, HttpResult, MultiResult, ObserveInfo,
                              OperationResult, Result, ValueResult)


def test_manual_operation_result_repr():
    res = OperationResult("aass_brewery-juleol", 0, 0x428e4317cfe60000)
    assert repr(res) == "OperationResult<RC=0x0, Key=aass_brewery-juleol, CAS=0x428e4317cfe60000>"
    assert str(res) == repr(res)


def test_manual_value_result_repr():
    # The manual printed Value=u'demo_value' under Python 2; on Python 3 the
    # repr of a str has no u prefix.
    res = ValueResult("demo_key", 0, 0x3222e0f096e80000, "demo_value", 0)
    assert repr(res) == ("ValueResult<RC=0x0, Key=demo_key, Value='demo_value', "
                         "CAS=0x3222e0f096e80000, Flags=0x0>")


def test_failed_result_repr_carries_errstr():
    res = ValueResult("missing", C.LCB_KEY_ENOENT)
    assert repr(res) == ("ValueResult<RC=0xD[No such key], Key=missing, Value=None, "
                         "CAS=0x0, Flags=0x0>")


def test_plain_result_shows_only_rc():
    assert repr(Result("k", 0)) == "Result<RC=0x0>"
    assert repr(Result("k", 0x2A)) == f"Result<RC=0x2A[{C._strerror(0x2A)}]>"


def test_value_repr_uses_repr_of_value_and_hex_flags():
    res = ValueResult("k", 0, 0xABC, {"a": [1]}, 0x1F)
    assert repr(res) == "ValueResult<RC=0x0, Key=k, Value={'a': [1]}, CAS=0xabc, Flags=0x1f>"


def test_http_result_repr():
    res = HttpResult("_design/dev_x", 0, 200)
    res._value = {"ok": True}
    assert repr(res) == ("HttpResult<RC=0x0, Value={'ok': True}, HTTP=200, "
                         "URL=_design/dev_x>")


def test_http_result_repr_before_value_is_known():
    assert repr(HttpResult("p", 0, 0)) == "HttpResult<RC=0x0, HTTP=0, URL=p>"


def test_key_unset_raises_attribute_error():
    res = ValueResult()
    with pytest.raises(AttributeError):
        res.key
    assert not hasattr(res, "key")
    assert repr(res) == "ValueResult<RC=0x0, Value=None, CAS=0x0, Flags=0x0>"


def test_http_value_unset_raises_attribute_error():
    res = HttpResult("path")
    with pytest.raises(AttributeError):
        res.value
    res._value = None
    assert res.value is None


@pytest.mark.parametrize("cls, attrs", [
    (Result, ["rc", "key", "success", "errstr", "value", "cas"]),
    (OperationResult, ["rc", "key", "cas"]),
    (ValueResult, ["rc", "key", "value", "cas", "flags"]),
    (HttpResult, ["rc", "key", "value", "url", "http_status", "headers", "success"]),
    (ObserveInfo, ["flags", "from_master", "cas"]),
])
def test_attributes_are_read_only(cls, attrs):
    obj = cls()
    for attr in attrs:
        with pytest.raises(AttributeError):
            setattr(obj, attr, 1)
    with pytest.raises(AttributeError):
        obj.some_new_attribute = 1


def test_success_and_defaults():
    res = Result("k")
    assert (res.rc, res.success, res.value, res.cas) == (0, True, None, 0)
    assert res.errstr == "Success"
    failed = OperationResult("k", C.LCB_KEY_EEXISTS)
    assert failed.success is False and failed.errstr.startswith("Key exists")


@pytest.mark.parametrize("rc, status, ok", [
    (0, 200, True), (0, 201, True), (0, 299, True), (0, 0, True), (0, 300, False),
    (0, 404, False), (0, 500, False), (0x17, 200, False), (0x17, 0, False),
])
def test_http_success_rule(rc, status, ok):
    assert HttpResult("p", rc, status).success is ok


def test_http_url_is_key_and_headers_default_none():
    res = HttpResult("/pools", 0, 200)
    assert res.url == res.key == "/pools"
    assert res.headers is None
    assert HttpResult("p", headers={"a": "b"}).headers == {"a": "b"}


def test_http_fetch_pages_until_none():
    pages = iter([["r1"], [], ["r2", "r3"], None])
    res = HttpResult("p", fetcher=lambda: next(pages))
    assert [res._fetch(), res._fetch(), res._fetch()] == [["r1"], [], ["r2", "r3"]]
    assert res._fetch() is None
    assert res._fetch() is None


def test_http_fetch_without_fetcher_is_done():
    assert HttpResult("p")._fetch() is None


def test_multi_result_is_a_dict_with_read_only_all_ok():
    mres = MultiResult()
    assert isinstance(mres, dict)
    assert mres.all_ok == 1 and type(mres.all_ok) is int
    mres["k"] = ValueResult("k", 0x0D)
    mres._all_ok = 0
    assert mres.all_ok == 0
    with pytest.raises(AttributeError):
        mres.all_ok = 1
    assert repr(mres) == dict.__repr__(mres)


def test_arguments_is_a_dict_marker():
    args = Arguments(value=1, ttl=3)
    assert isinstance(args, dict) and args == {"value": 1, "ttl": 3}


@pytest.mark.parametrize("flags, name", [
    (C.OBS_FOUND, "OBS_FOUND"), (C.OBS_PERSISTED, "OBS_PERSISTED"),
    (C.OBS_NOTFOUND, "OBS_NOTFOUND"), (C.OBS_LOGICALLY_DELETED, "OBS_LOGICALLY_DELETED"),
    (0x42, ""),
])
def test_observe_info_repr(flags, name):
    info = ObserveInfo(flags, 1, 0xDEADBEEF)
    assert repr(info) == f"ObserveInfo<Status=[{name} (0x{flags:X})], Master=True, CAS=0xDEADBEEF>"
    assert repr(ObserveInfo(flags, 0, 0)).endswith("Master=False, CAS=0x0>")


def test_observe_info_cannot_be_subclassed():
    with pytest.raises(TypeError):
        type("Sub", (ObserveInfo,), {})


def test_results_are_slotted_and_hold_no_cycles():
    assert not hasattr(ValueResult("k"), "__dict__")
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        for _ in range(1000):
            MultiResult({"k": ValueResult("k", 0, 1, "v", 0)})
        assert gc.get_count()[0] - before < 100
    finally:
        gc.enable()


def test_results_pickle():
    res = ValueResult("k", 0, 5, [1, 2], 4)
    again = pickle.loads(pickle.dumps(res))
    assert repr(again) == repr(res)
    mres = MultiResult({"k": res})
    mres._all_ok = 0
    again = pickle.loads(pickle.dumps(mres))
    assert again.all_ok == 0 and list(again) == ["k"]


def test_custom_result_reprfunc_is_honoured():
    previous = C._modify_helpers(result_reprfunc=lambda r: "custom")
    try:
        assert repr(Result()) == "custom"
    finally:
        C._modify_helpers(**previous)
