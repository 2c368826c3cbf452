"""Connecting: arguments, defaults, bootstrap failures, host lists, conncache, repr."""
import os
import socket
import sys

import pytest

from support.config_server import ConfigServer, make_config
from support.ports import free_port
from couchbase import Couchbase, FMT_JSON, LOCKMODE_EXC, LOCKMODE_NONE, LOCKMODE_WAIT
from couchbase.connection import Connection
from couchbase.exceptions import (ArgumentError, AuthError, BucketNotFoundError, ConnectError,
                                  CouchbaseNetworkError, InvalidError)


def test_defaults(cb):
    assert cb.timeout == 2.5
    assert cb.quiet == 0
    assert cb.default_format == FMT_JSON
    assert cb.unlock_gil == 1
    assert cb.transcoder is None
    assert cb.lockmode == LOCKMODE_EXC
    assert cb.bucket == "default"
    assert cb.data_passthrough == 0


def test_repr_and_server_nodes(cb, server):
    assert repr(cb) == (f"<couchbase.connection.Connection bucket=default, "
                        f"nodes={cb.server_nodes} at 0x{id(cb):x}>")
    assert cb.server_nodes == [f"{server.host}:{server.rest_port}"]
    with pytest.raises(AttributeError):
        cb.server_nodes = []


def test_lcb_version_and_errors(cb):
    assert Connection.lcb_version() == ("2.0.7", 0x020007)
    assert cb.errors() == ()


def test_bucket_is_required():
    with pytest.raises(ArgumentError):
        Connection(host="127.0.0.1")
    with pytest.raises(ArgumentError):
        Couchbase.connect()


def test_unknown_keyword_is_argument_error(cluster):
    with pytest.raises(ArgumentError) as info:
        Connection(bucket="default", host="127.0.0.1", port=cluster.port, bogus=1)
    assert isinstance(info.value.inner_cause, TypeError)


def test_unknown_bucket(cluster):
    with pytest.raises(BucketNotFoundError):
        Couchbase.connect(bucket="nosuchbucket", host="127.0.0.1", port=cluster.port)


def test_bad_credentials(mc_node):
    server = ConfigServer(make_config("secret", [mc_node.port], [[0]] * 4, 1),
                          auth=("secret", "s3cret"))
    try:
        with pytest.raises(AuthError):
            Couchbase.connect(bucket="secret", host="127.0.0.1", port=server.port,
                              password="wrong")
    finally:
        server.close()


def test_nothing_listening():
    with pytest.raises(ConnectError):
        Couchbase.connect(bucket="default", host="127.0.0.1", port=free_port())


def test_unknown_host_is_a_network_error():
    with pytest.raises(CouchbaseNetworkError):
        Couchbase.connect(bucket="default", host="no-such-host.invalid", timeout=1)


@pytest.mark.parametrize("host", ["12345:qwer###", "a b", "h:1:2"])
def test_malformed_host(host):
    with pytest.raises(InvalidError):
        Couchbase.connect(bucket="default", host=host)


def test_dead_first_host_is_skipped(cluster):
    dead = free_port()
    cb = Couchbase.connect(bucket="default",
                           host=[("127.0.0.1", dead), ("127.0.0.1", cluster.port)])
    assert cb.set("dead-first-host", 1).success


def test_host_names_take_the_port_argument(cluster):
    cb = Couchbase.connect(bucket="default", host=["127.0.0.1"], port=cluster.port)
    assert cb.get("dead-first-host", quiet=True) is not None


def test_timeout_property():
    cb = Connection.__new__(Connection)
    cb._router = None
    cb.timeout = 1.25
    assert cb.timeout == 1.25
    with pytest.raises(ValueError):
        cb.timeout = 0
    with pytest.raises(ValueError):
        cb.timeout = -1
    with pytest.raises(TypeError):
        cb.timeout = None
    with pytest.raises(TypeError):
        cb.timeout = "1"


def test_default_format_validation(cb):
    for bad in ("json", None, True):
        with pytest.raises(ArgumentError):
            cb.default_format = bad


def test_quiet_property(cb):
    cb.quiet = True
    assert cb.quiet == 1
    with pytest.raises(TypeError):
        cb.quiet = "yes"


def test_lockmode_is_forwarded_by_connect(cluster):
    cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port,
                           lockmode=LOCKMODE_WAIT)
    assert cb.lockmode == LOCKMODE_WAIT


def test_unlock_gil_false_forces_lockmode_none(cluster):
    cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port,
                           unlock_gil=False)
    assert cb.lockmode == LOCKMODE_NONE
    assert cb.unlock_gil == 0


def test_conncache_written_and_reused(cluster, tmp_path):
    path = str(tmp_path / "cache.json")
    cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port, conncache=path)
    assert os.path.getsize(path) > 0
    cb.set("conncache-key", "v")
    # With the cache the bootstrap host is not needed for the first config.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    again = Couchbase.connect(bucket="default", host="127.0.0.1", port=closed_port, conncache=path)
    assert again.get("conncache-key").value == "v"


def test_init_twice_is_runtime_error(cb):
    with pytest.raises(RuntimeError):
        cb.__init__(bucket="default")


def test_connection_is_not_kept_alive_by_operations(cluster):
    cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port)
    result = cb.set("refcount", 1)
    value = cb.get("refcount")
    multi = cb.get_multi(["refcount", "missing-refcount"], quiet=True)
    try:
        cb.get("missing-refcount")
    except Exception as exc:
        assert exc.all_results
    assert sys.getrefcount(cb) == 2
    assert result.success and value.success and multi
