"""Every row of sdk-1.0-api.md section 8 ("situation -> exception") that involves a
server, run against cbserver: the class, the rc and the key named by the error."""
import socket

import pytest

from couchbase import FMT_BYTES, FMT_JSON, FMT_UTF8, Couchbase
from couchbase.admin import Admin
from couchbase.exceptions import (ArgumentError, AuthError, BadHandleError,
                                  BucketNotFoundError, ConnectError, DeltaBadvalError,
                                  HTTPError, InvalidError, KeyExistsError, NotFoundError,
                                  NotStoredError, TemporaryFailError, ValueFormatError)
from couchbase.transcoder import Transcoder

ADMIN = ("Administrator", "password")


def _raises(exc_type, rc, key, func, *args, **kwargs):
    with pytest.raises(exc_type) as info:
        func(*args, **kwargs)
    assert info.value.rc == rc
    assert info.value.key == key
    return info.value


def test_missing_key_not_quiet(cb, key_prefix):
    key = key_prefix + "missing"
    _raises(NotFoundError, 0x0D, key, cb.get, key)
    _raises(NotFoundError, 0x0D, key, cb.delete, key)
    _raises(NotFoundError, 0x0D, key, cb.touch, key, ttl=5)
    _raises(NotFoundError, 0x0D, key, cb.lock, key, ttl=5)
    assert cb.get(key, quiet=True).rc == 0x0D


def test_key_exists_situations(cb, key_prefix):
    key = key_prefix + "k"
    stale = cb.set(key, 1).cas
    cb.set(key, 2)
    _raises(KeyExistsError, 0x0C, key, cb.add, key, 3)
    _raises(KeyExistsError, 0x0C, key, cb.set, key, 3, cas=stale)
    _raises(KeyExistsError, 0x0C, key, cb.replace, key, 3, cas=stale)
    _raises(KeyExistsError, 0x0C, key, cb.delete, key, cas=stale)
    locked = cb.lock(key, ttl=10)
    _raises(KeyExistsError, 0x0C, key, cb.set, key, 4)
    cb.unlock(key, locked.cas)


def test_replace_append_prepend_missing(cb, key_prefix):
    key = key_prefix + "missing"
    _raises(NotFoundError, 0x0D, key, cb.replace, key, 1)
    _raises(NotStoredError, 0x12, key, cb.append, key, "x")
    _raises(NotStoredError, 0x12, key, cb.prepend, key, "x")


def test_counter_situations(cb, key_prefix):
    key = key_prefix + "n"
    _raises(NotFoundError, 0x0D, key, cb.incr, key)
    _raises(NotFoundError, 0x0D, key, cb.decr, key)
    cb.set(key, "not a number", format=FMT_UTF8)
    _raises(DeltaBadvalError, 0x03, key, cb.incr, key)
    _raises(DeltaBadvalError, 0x03, key, cb.decr, key)


def test_lock_unlock_situations(cb, key_prefix):
    key = key_prefix + "k"
    cb.set(key, 1)
    locked = cb.lock(key, ttl=10)
    _raises(TemporaryFailError, 0x0B, key, cb.lock, key, ttl=10)
    _raises(TemporaryFailError, 0x0B, key, cb.unlock, key, locked.cas ^ 1)
    cb.unlock(key, locked.cas)
    _raises(TemporaryFailError, 0x0B, key, cb.unlock, key, locked.cas)


class _RawJson(Transcoder):
    """Stores bytes as they are under the FMT_JSON flags (to plant undecodable JSON)."""

    def encode_value(self, value, format):
        return bytes(value), FMT_JSON


def test_undecodable_stored_value(cb, server, key_prefix):
    key = key_prefix + "k"
    planter = Couchbase.connect(bucket="default", host=server.host, port=server.rest_port,
                                transcoder=_RawJson())
    planter.set(key, b"{not json")
    for fetch in (cb.get, lambda k: cb.get_multi([k])):
        with pytest.raises(ValueFormatError) as info:
            fetch(key)
        assert info.value.key == key
    cb.data_passthrough = 1
    assert cb.get(key).value == b"{not json"


def test_unencodable_key_and_value(cb, key_prefix):
    with pytest.raises(ValueFormatError):
        cb.set(key_prefix + "\udc80", 1)
    with pytest.raises(ValueFormatError) as info:
        cb.set(key_prefix + "k", object())
    assert info.value.key == key_prefix + "k"
    with pytest.raises(ValueFormatError):
        cb.set(key_prefix + "k", "text", format=FMT_BYTES)


def test_argument_errors_before_sending(cb, key_prefix):
    key = key_prefix + "k"
    for bad in (-1, "ten", 2 ** 32):
        with pytest.raises(ArgumentError):
            cb.set(key, 1, ttl=bad)
    with pytest.raises(ArgumentError):
        cb.get("")
    for keys in ([], "abc", None):
        with pytest.raises(ArgumentError):
            cb.get_multi(keys)
    with pytest.raises(ArgumentError):
        cb.lock(key)
    with pytest.raises(ArgumentError):
        cb.unlock(key, 0)
    with pytest.raises(ArgumentError):
        cb.default_format = "json"
    with pytest.raises(NotFoundError):
        cb.get(key)


def test_timeout_values(cb):
    for bad in (0, -1):
        with pytest.raises(ValueError):
            cb.timeout = bad
    for bad in (None, "1"):
        with pytest.raises(TypeError):
            cb.timeout = bad


def test_unknown_bucket(server):
    with pytest.raises(BucketNotFoundError):
        Couchbase.connect(bucket="nosuchbucket", host=server.host, port=server.rest_port)


def test_bucket_password(server, key_prefix):
    good = Couchbase.connect(bucket="protected", password="secret", host=server.host,
                             port=server.rest_port)
    assert good.set(key_prefix + "k", 1).success
    assert good.get(key_prefix + "k").value == 1
    with pytest.raises(AuthError):
        Couchbase.connect(bucket="protected", password="wrong", host=server.host,
                          port=server.rest_port)


def test_wrong_admin_credentials(server):
    admin = Admin(*ADMIN, host=server.host, port=server.rest_port)
    assert admin.http_request("/pools/").http_status == 200
    with pytest.raises((AuthError, HTTPError)):
        Admin("Administrator", "wrong", host=server.host,
              port=server.rest_port).http_request("/pools/default")


def test_nothing_listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectError):
        Couchbase.connect(bucket="default", host="127.0.0.1", port=port, timeout=1)


def test_malformed_host_string():
    with pytest.raises(InvalidError):
        Couchbase.connect(bucket="default", host="127.0.0.1:notaport")


def test_kv_on_admin_is_bad_handle(server):
    admin = Admin(*ADMIN, host=server.host, port=server.rest_port)
    with pytest.raises(BadHandleError):
        admin.get("anything")


def test_management_path_error_is_http_error(server):
    admin = Admin(*ADMIN, host=server.host, port=server.rest_port)
    with pytest.raises(HTTPError) as info:
        admin.http_request("/pools/default/buckets/nosuchbucket")
    assert info.value.objextra.http_status == 404
