"""The 1.0 exception hierarchy, rc maps, str format and the helper registry."""
import pickle

import pytest

from couchbase import _libcouchbase as C
from couchbase import exceptions as E
from couchbase import user_constants
from couchbase.views.iterator import AlreadyQueriedError

DIRECT = [
    "InternalSDKError", "CouchbaseNetworkError", "ArgumentError", "ValueFormatError",
    "AuthError", "DeltaBadvalError", "TooBigError", "BusyError", "InternalError",
    "InvalidError", "NoMemoryError", "RangeError", "LibcouchbaseError",
    "TemporaryFailError", "KeyExistsError", "NotFoundError", "DlopenFailedError",
    "DlsymFailedError", "NotMyVbucketError", "NotStoredError", "NotSupportedError",
    "UnknownCommandError", "ProtocolError", "TimeoutError", "BucketNotFoundError",
    "ClientNoMemoryError", "ClientTemporaryFailError", "BadHandleError", "HTTPError",
    "ObjectThreadError", "ViewEngineError",
]
NETWORK = ["NetworkError", "UnknownHostError", "ConnectError"]


@pytest.mark.parametrize("name", DIRECT)
def test_direct_subclasses_of_couchbase_error(name):
    cls = getattr(E, name)
    assert cls.__bases__ == (E.CouchbaseError,)


@pytest.mark.parametrize("name", NETWORK)
def test_network_subclasses(name):
    assert getattr(E, name).__bases__ == (E.CouchbaseNetworkError,)


def test_declaration_order_follows_the_rc_table():
    declared = [name for name, obj in vars(E).items()
                if isinstance(obj, type) and issubclass(obj, E.CouchbaseError)]
    assert declared.index("NotFoundError") < declared.index("NetworkError")
    assert declared.index("NetworkError") < declared.index("NotMyVbucketError")
    assert declared.index("UnknownHostError") < declared.index("ProtocolError")
    assert declared.index("TimeoutError") < declared.index("ConnectError")
    assert declared[-1] == "ViewEngineError"
    assert set(declared) == {"CouchbaseError", *DIRECT, *NETWORK}


def test_timeout_error_shadows_builtin_but_is_a_couchbase_error():
    assert E.TimeoutError is not TimeoutError
    assert issubclass(E.TimeoutError, E.CouchbaseError)


def test_already_queried_error_is_a_couchbase_error():
    assert AlreadyQueriedError.__bases__ == (E.CouchbaseError,)


EXPECTED_MAP = {
    0x02: "AuthError", 0x03: "DeltaBadvalError", 0x04: "TooBigError", 0x05: "BusyError",
    0x08: "NoMemoryError", 0x0B: "TemporaryFailError", 0x0C: "KeyExistsError",
    0x0D: "NotFoundError", 0x0E: "DlopenFailedError", 0x0F: "DlsymFailedError",
    0x10: "NetworkError", 0x11: "NotMyVbucketError", 0x12: "NotStoredError",
    0x13: "NotSupportedError", 0x15: "UnknownHostError", 0x16: "ProtocolError",
    0x17: "TimeoutError", 0x18: "ConnectError", 0x19: "BucketNotFoundError",
    0x1C: "BadHandleError", 0x1F: "InvalidError", 0x20: "InvalidError",
}


def test_lcb_errno_map_is_exactly_the_table():
    assert {rc: cls.__name__ for rc, cls in E._LCB_ERRNO_MAP.items()} == EXPECTED_MAP


@pytest.mark.parametrize("rc", [0x00, 0x01, 0x06, 0x07, 0x09, 0x0A, 0x14, 0x1A, 0x1B,
                                0x1D, 0x1E, 0x99])
def test_unmapped_rc_gives_the_calling_class(rc):
    assert E.CouchbaseError.rc_to_exctype(rc) is E.CouchbaseError
    assert E.HTTPError.rc_to_exctype(rc) is E.HTTPError


def test_rc_to_exctype_as_in_the_manual():
    assert E.CouchbaseError.rc_to_exctype(C.LCB_KEY_ENOENT) is E.NotFoundError
    assert repr(E.CouchbaseError.rc_to_exctype(0x0D)) == \
        "<class 'couchbase.exceptions.NotFoundError'>"


def test_exctype_map():
    assert E._EXCTYPE_MAP == {
        C.PYCBC_EXC_ARGUMENTS: E.ArgumentError, C.PYCBC_EXC_ENCODING: E.ValueFormatError,
        C.PYCBC_EXC_INTERNAL: E.InternalSDKError, C.PYCBC_EXC_HTTP: E.HTTPError,
        C.PYCBC_EXC_THREADING: E.ObjectThreadError,
    }


def test_defaults_of_attributes():
    exc = E.CouchbaseError({})
    assert (exc.rc, exc.all_results, exc.result, exc.inner_cause, exc.csrc_info,
            exc.key, exc.objextra, exc.message) == (0, {}, None, None, (), None, None, None)


def test_string_params_become_the_message():
    exc = E.ArgumentError("bad thing")
    assert exc.message == "bad thing"
    assert str(exc) == "<bad thing>"


def test_pyexc_builds_without_raising():
    inner = TypeError("nope")
    exc = E.ValueFormatError.pyexc("Couldn't encode value", obj=42, inner=inner)
    assert type(exc) is E.ValueFormatError
    assert (exc.message, exc.objextra, exc.inner_cause) == ("Couldn't encode value", 42, inner)


def test_str_of_the_manual_add_example():
    exc = E.KeyExistsError({"key": "demo_key", "rc": 0x0C, "message": "Operational Error",
                            "all_results": {"demo_key": None},
                            "csrc_info": ("src/multiresult.c", 147)})
    assert str(exc) == ("<Key='demo_key', RC=0xC[Key exists (with a different CAS value)], "
                        "Operational Error, Results=1, C Source=(src/multiresult.c,147)>")


def test_str_of_the_manual_not_found_example():
    exc = E.NotFoundError({"key": "demo_key", "rc": 0x0D, "message": "Operational Error",
                           "all_results": {"demo_key": None},
                           "csrc_info": ("src/multiresult.c", 147)})
    assert str(exc) == ("<Key='demo_key', RC=0xD[No such key], Operational Error, "
                        "Results=1, C Source=(src/multiresult.c,147)>")


def test_str_of_the_manual_encoding_example():
    obj = object()
    exc = E.ValueFormatError({"message": "Couldn't encode value",
                              "inner_cause": TypeError(f"{obj!r} is not JSON serializable"),
                              "csrc_info": ("src/convert.c", 131), "objextra": obj})
    assert str(exc) == (f"<Couldn't encode value, inner_cause={obj!r} is not JSON "
                        f"serializable, C Source=(src/convert.c,131), OBJ={obj!r}>")


def test_str_without_message_is_readable():
    assert str(E.NotFoundError({"rc": 0x0D})) == "<RC=0xD[No such key]>"
    assert str(E.CouchbaseError()) == "<>"


def test_repr_is_the_exception_default():
    exc = E.NotFoundError({"rc": 0x0D})
    assert repr(exc) == "NotFoundError({'rc': 13})"


def test_exceptions_pickle():
    exc = E.NotFoundError({"rc": 0x0D, "key": "k", "message": "Operational Error"})
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is E.NotFoundError and str(again) == str(exc)


def test_exc_from_rc_fills_the_operational_error():
    results = {"k": "result"}
    exc = E.exc_from_rc(0x0D, key="k", result="result", all_results=results)
    assert type(exc) is E.NotFoundError
    assert (exc.rc, exc.key, exc.message, exc.result, exc.all_results) == \
        (0x0D, "k", "Operational Error", "result", results)
    path, line = exc.csrc_info
    assert path.endswith("test_exceptions.py") and line > 0


def test_exc_from_rc_unmapped_is_couchbase_error():
    assert type(E.exc_from_rc(C.LCB_ERANGE)) is E.CouchbaseError


@pytest.mark.parametrize("kind, cls", [
    (C.PYCBC_EXC_ARGUMENTS, E.ArgumentError), (C.PYCBC_EXC_ENCODING, E.ValueFormatError),
    (C.PYCBC_EXC_INTERNAL, E.InternalSDKError), (C.PYCBC_EXC_HTTP, E.HTTPError),
    (C.PYCBC_EXC_THREADING, E.ObjectThreadError), (99, E.CouchbaseError),
])
def test_exc_from_kind(kind, cls):
    exc = E.exc_from_kind(kind, "why", key="k", obj=1)
    assert type(exc) is cls and (exc.message, exc.key, exc.objextra) == ("why", "k", 1)


def test_exc_from_kind_lcberr_uses_the_rc():
    assert type(E.exc_from_kind(C.PYCBC_EXC_LCBERR, "x", rc=0x18)) is E.ConnectError


def test_strerror_known_and_unknown():
    assert C._strerror(C.LCB_KEY_ENOENT) == "No such key"
    assert C._strerror(0) == "Success"
    assert "unknown error" in C._strerror(0x7777).lower()
    assert all(C._strerror(rc) for rc in range(0x21))


def test_rc_constant_values():
    assert (C.LCB_SUCCESS, C.LCB_KEY_ENOENT, C.LCB_ERROR, C.LCB_INVALID_CHAR,
            C.LCB_CLIENT_ETMPFAIL) == (0, 0x0D, 0x0A, 0x20, 0x1B)
    assert (C.LCB_ADD, C.LCB_PREPEND, C.LCB_HTTP_METHOD_DELETE, C.LCB_TYPE_CLUSTER) == \
        (1, 5, 3, 1)
    assert (C.PYCBC_CMD_DECR, C.PYCBC_RESFLD_URL, C.PYCBC_CONN_F_WARNEXPLICIT) == \
        (505, 64, 1)


def test_status_to_rc_mapping():
    from couchbase.protocol import Status
    assert C.rc_for_status(Status.SUCCESS) == C.LCB_SUCCESS
    assert C.rc_for_status(Status.KEY_ENOENT) == C.LCB_KEY_ENOENT
    assert C.rc_for_status(Status.EINVAL) == C.LCB_EINVAL
    assert C.rc_for_status(Status.ETMPFAIL) == C.LCB_ETMPFAIL
    assert C.rc_for_status(Status.UNKNOWN_COMMAND) == C.LCB_UNKNOWN_COMMAND
    assert C.rc_for_status(Status.LOCKED) == C.LCB_ERROR
    assert C.rc_for_status(0xFFFF) == C.LCB_ERROR


def test_user_constants_reexports():
    assert user_constants.FMT_JSON == 0 and user_constants.FMT_MASK == 7
    assert user_constants.OBS_MASK == 0x81 and user_constants.LOCKMODE_WAIT == 2
    assert not hasattr(user_constants, "OBS_LOGICALLY_DELETED")
    assert C.OBS_LOGICALLY_DELETED == 0x81


def test_helper_registry():
    assert C._get_helper("default_exception") is E.CouchbaseError
    assert C._get_helper("lcb_errno_map") is E._LCB_ERRNO_MAP
    assert C._get_helper("fmt_utf8_flags") == C.FMT_UTF8
    previous = C._modify_helpers(fmt_bytes_flags=99)
    try:
        assert previous == {"fmt_bytes_flags": C.FMT_BYTES}
        assert C._get_helper("fmt_bytes_flags") == 99
    finally:
        C._modify_helpers(**previous)


def test_unknown_helper_is_an_argument_error_and_changes_nothing():
    with pytest.raises(E.ArgumentError, match="Unknown helper"):
        C._modify_helpers(json_encode=str, not_a_helper=1)
    assert C._get_helper("json_encode") is not str
    with pytest.raises(E.ArgumentError):
        C._get_helper("nope")


def test_lazy_types_on_the_module():
    from couchbase.result import ValueResult
    from couchbase.transcoder import Transcoder
    assert C.ValueResult is ValueResult and C.Transcoder is Transcoder
    with pytest.raises(AttributeError):
        C.NoSuchThing
