"""The Admin connection: management HTTP, bad paths, bad credentials, no KV."""
import pytest

from support.config_server import ConfigServer, make_config
from support.ports import free_port
from couchbase.admin import Admin
from couchbase.exceptions import ArgumentError, AuthError, BadHandleError, ConnectError, HTTPError


@pytest.fixture
def admin_server(mc_node):
    server = ConfigServer(make_config("default", [mc_node.port], [[0]] * 4, 1),
                          auth=("Administrator", "password"))
    yield server
    server.close()


def test_http_request(admin_server):
    adm = Admin("Administrator", "password", host="127.0.0.1", port=admin_server.port)
    result = adm.http_request("/pools/default/buckets/default")
    assert result.success and result.http_status == 200
    assert result.value["name"] == "default"
    assert result.url == "/pools/default/buckets/default"
    with pytest.raises(HTTPError) as info:
        adm.http_request("/no/such/path")
    assert info.value.objextra.http_status == 404
    with pytest.raises(ArgumentError):
        adm.http_request("/pools/", method="PATCH")
    with pytest.raises(BadHandleError):
        adm.get("key")


def test_bad_credentials(admin_server):
    with pytest.raises(AuthError):
        Admin("Administrator", "wrong", host="127.0.0.1", port=admin_server.port)


def test_unreachable():
    with pytest.raises(ConnectError):
        Admin("Administrator", "password", host="127.0.0.1", port=free_port())
