"""Design-document management and the HTTP request primitive against a real cbserver
(manual 3.8; sdk-1.0-api.md 11-13)."""
import json
import socket
import threading

import pytest

from support.config_server import ConfigServer, make_config
from couchbase import Couchbase
from couchbase import _libcouchbase as C
from couchbase.exceptions import (ArgumentError, CouchbaseNetworkError, HTTPError, InvalidError,
                                  TimeoutError)
from couchbase.result import HttpResult

MAP = "function (doc, meta) { if (doc.dd) emit(meta.id, doc.dd); }"


def ddoc(view="v", map_fn=MAP, **extra):
    return {"views": {view: {"map": map_fn, **extra}}}


@pytest.fixture
def cb(server):
    return Couchbase.connect(bucket="default", host=server.host, port=server.rest_port)


def rev_of(result):
    return json.loads(result.headers["x-couchbase-meta"])["rev"]


def test_create_get_delete_in_dev_mode(cb):
    created = cb.design_create("dd_life", ddoc())
    assert isinstance(created, HttpResult) and created.success
    assert created.http_status == 201 and created.value == {"ok": True, "id": "_design/dev_dd_life"}
    assert created.headers is not None
    got = cb.design_get("dd_life")
    assert got.value["views"] == ddoc()["views"]
    assert got.value["_id"] == "_design/dev_dd_life"
    meta = json.loads(got.headers["x-couchbase-meta"])
    assert meta["id"] == "_design/dev_dd_life" and meta["rev"]
    assert got.url == "_design/dev_dd_life"
    with pytest.raises(HTTPError) as info:
        cb.design_get("dd_life", use_devmode=False)
    assert info.value.objextra.http_status == 404 and "not_found" in info.value.message
    assert cb.design_get("dev_dd_life", use_devmode=True).value == got.value
    deleted = cb.design_delete("dd_life")
    assert deleted.success and deleted.value["id"] == "_design/dev_dd_life"
    with pytest.raises(HTTPError):
        cb.design_get("dd_life")
    with pytest.raises(HTTPError) as info:
        cb.design_delete("dd_life")
    assert info.value.objextra.http_status == 404


def test_replacing_a_design_changes_its_rev_and_results(cb):
    cb.set_multi({"dd-r1": {"dd": 1}, "dd-r2": {"dd": 2}})
    cb.design_create("dd_rev", ddoc(), use_devmode=False, syncwait=10)
    first = rev_of(cb.design_get("dd_rev", use_devmode=False))
    rows = cb._view("dd_rev", "v", params={"stale": "false"}).value["rows"]
    assert [r["value"] for r in rows if r["id"].startswith("dd-r")] == [1, 2]
    doubled = "function (doc, meta) { if (doc.dd) emit(meta.id, doc.dd * 2); }"
    cb.design_create("dd_rev", ddoc(map_fn=doubled), use_devmode=False, syncwait=10)
    assert rev_of(cb.design_get("dd_rev", use_devmode=False)) != first
    rows = cb._view("dd_rev", "v", params="stale=false").value["rows"]
    assert [r["value"] for r in rows if r["id"].startswith("dd-r")] == [2, 4]


def test_string_design_documents(cb):
    text = json.dumps(ddoc())
    with pytest.raises(ArgumentError):
        cb.design_create("dd_str", text)
    assert cb.design_create("dd_str", text, use_devmode=False).success
    assert cb.design_get("dd_str", use_devmode=False).value["views"] == ddoc()["views"]
    with pytest.raises(ArgumentError):
        cb.design_create("dd_str", ["not", "a", "design"], use_devmode=False)


def test_invalid_javascript_is_an_http_error_with_the_reason(cb):
    with pytest.raises(HTTPError) as info:
        cb.design_create("dd_badjs", ddoc(map_fn="function (doc { emit("), use_devmode=False)
    assert info.value.objextra.http_status == 400
    assert "invalid_design_document" in info.value.message
    with pytest.raises(HTTPError):
        cb.design_get("dd_badjs", use_devmode=False)


def test_publish_moves_the_dev_design_to_production(cb):
    cb.set("dd-pub", {"dd": 7})
    cb.design_create("dd_pub", ddoc(), syncwait=10)
    published = cb.design_publish("dd_pub", syncwait=10)
    assert published.success and published.value["id"] == "_design/dd_pub"
    prod = cb.design_get("dd_pub", use_devmode=False)
    assert prod.value["_id"] == "_design/dd_pub" and prod.value["views"] == ddoc()["views"]
    with pytest.raises(HTTPError):
        cb.design_get("dd_pub")
    rows = list(cb.query("dd_pub", "v", stale=False, key="dd-pub"))
    assert [(r.docid, r.value) for r in rows] == [("dd-pub", 7)]
    cb.design_create("dev_dd_pub", ddoc(view="w"))
    assert cb.design_publish("dev_dd_pub").value["id"] == "_design/dd_pub"
    assert list(cb.design_get("dd_pub", use_devmode=False).value["views"]) == ["w"]


def test_syncwait_returns_once_the_view_answers(cb):
    cb.set("dd-sw", {"dd": 3})
    cb.design_create("dd_sw", ddoc(), use_devmode=False, syncwait=10)
    assert cb._view("dd_sw", "v", params={"stale": "ok", "limit": 1}).success
    cb.design_delete("dd_sw", use_devmode=False, syncwait=10)
    with pytest.raises(HTTPError):
        cb.design_get("dd_sw", use_devmode=False)


def test_syncwait_times_out_when_the_view_never_answers(cb):
    """A view named ``a/b`` is stored but its URL never reaches it, so the wait expires."""
    with pytest.raises(TimeoutError) as info:
        cb.design_create("dd_never", ddoc(view="a/b"), use_devmode=False, syncwait=0.3)
    assert "dd_never" in info.value.message
    assert cb.design_get("dd_never", use_devmode=False).success


def test_bad_syncwait_values(cb):
    for bad in (-1, "1", None, True):
        with pytest.raises(ArgumentError):
            cb.design_create("dd_badwait", ddoc(), syncwait=bad)
    with pytest.raises(ArgumentError):
        cb.design_delete("dd_badwait", syncwait=-0.5)
    with pytest.raises(ArgumentError):
        cb.design_publish("dd_badwait", syncwait=-2)


def test_view_path_encoding(cb):
    cb.set("dd-enc", {"dd": "é"})
    cb.design_create("dd enc é", ddoc(), use_devmode=False)
    result = cb._view("dd enc é", "v", params={"key": "dd-enc", "stale": False})
    assert result.value["rows"] == [{"id": "dd-enc", "key": "dd-enc", "value": "é"}]
    assert result.url == "_design/dd enc é/_view/v?key=%22dd-enc%22&stale=false"
    with pytest.raises(InvalidError):
        cb._view("dd enc é", "v", params='key=%22dd-enc%22&endkey="x"')


def test_view_params_forms(cb):
    cb.set("dd-pf", {"dd": 1})
    cb.design_create("dd_pf", ddoc(), use_devmode=False)
    by_dict = cb._view("dd_pf", "v", params={"key": "dd-pf", "stale": False})
    by_str = cb._view("dd_pf", "v", params="key=%22dd-pf%22&stale=false")
    by_raw = cb._view("dd_pf", "v", params={"key": '"dd-pf"', "stale": "false"}, passthrough=True)
    extra = cb._view("dd_pf", "v", params={"key": "dd-pf", "ignored_by_server": "1"},
                     unrecognized_ok=True)
    assert by_dict.value["rows"] == by_str.value["rows"] == extra.value["rows"] \
        == [{"id": "dd-pf", "key": "dd-pf", "value": 1}]
    assert by_raw.http_status == 200
    with pytest.raises(ArgumentError):
        cb._view("dd_pf", "v", params={"ignored_by_server": "1"})


def test_http_request_quiet_returns_the_failed_result(cb):
    result = cb._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=C.LCB_HTTP_METHOD_GET,
                              path="_design/dd_absent", quiet=True, fetch_headers=True)
    assert not result.success and result.http_status == 404 and result.rc == 0
    assert result.value["error"] == "not_found" and result.headers


def test_http_request_management_type(cb, server):
    result = cb._http_request(type=C.LCB_HTTP_TYPE_MANAGEMENT, method=C.LCB_HTTP_METHOD_GET,
                              path="/pools/default/buckets/default")
    assert result.success and result.value["name"] == "default"
    with pytest.raises(ArgumentError):
        cb._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=99, path="_design/x")
    with pytest.raises(ArgumentError):
        cb._http_request(type=C.LCB_HTTP_TYPE_VIEW, method=C.LCB_HTTP_METHOD_PUT,
                         path="_design/x", post_data={"not": "encoded"})


def test_password_bucket_uses_its_sasl_credentials(server):
    protected = Couchbase.connect(bucket="protected", password="secret", host=server.host,
                                  port=server.rest_port)
    protected.set("dd-prot", {"dd": 9})
    protected.design_create("dd_prot", ddoc(), use_devmode=False)
    rows = list(protected.query("dd_prot", "v", stale=False))
    assert [(r.docid, r.value) for r in rows] == [("dd-prot", 9)]
    config = protected._router.config
    assert config.sasl_password == "secret"


# -- a cluster whose view node is silent or gone ---------------------------------------------

class SilentServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent_views(mc_node):
    """A bucket whose config points couchApiBase at a server that never answers."""
    silent = SilentServer()
    config = make_config("default", [mc_node.port], [[0]] * 16, 1)
    for node in config["nodes"]:
        node["couchApiBase"] = f"http://127.0.0.1:{silent.port}/default"
    cluster = ConfigServer(config)
    yield Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port)
    cluster.close()
    silent.close()


def test_view_timeout(silent_views):
    silent_views.views_timeout = 0.2
    with pytest.raises(TimeoutError) as info:
        list(silent_views.query("any", "view"))
    assert "_design/any/_view/view" in info.value.message
    with pytest.raises(TimeoutError):
        list(silent_views.query("any", "view", streaming=True))
    with pytest.raises(TimeoutError):
        silent_views.design_get("any")
    assert silent_views.set("dd-kv-still-works", 1).success


def test_views_timeout_setter(silent_views):
    assert silent_views.views_timeout == 75.0
    for bad, error in (("1", TypeError), (None, TypeError), (0, ValueError), (-1, ValueError)):
        with pytest.raises(error):
            silent_views.views_timeout = bad


def test_unreachable_view_node_is_a_network_error(cluster):
    cb = Couchbase.connect(bucket="default", host="127.0.0.1", port=cluster.port)
    with pytest.raises(CouchbaseNetworkError):
        list(cb.query("any", "view"))
