"""An independent client, python-binary-memcached, works against cbserver unchanged."""
from __future__ import annotations

import bmemcached
import pytest

from support.rawkv import unique_key


@pytest.fixture
def client(server):
    conn = bmemcached.Client([f"127.0.0.1:{server.kv_port}"])
    yield conn
    conn.disconnect_all()


def test_set_get_delete(client):
    key = unique_key("bmc").decode()
    assert client.set(key, "value")
    assert client.get(key) == "value"
    assert client.set(key, {"a": [1, 2]})
    assert client.get(key) == {"a": [1, 2]}
    assert client.delete(key)
    assert client.get(key) is None


def test_incr_decr(client):
    key = unique_key("bmc").decode()
    assert client.set(key, 10)
    assert client.incr(key, 5) == 15
    assert client.decr(key, 20) == 0


def test_add_replace_and_multi(client):
    key = unique_key("bmc").decode()
    assert client.add(key, "first")
    assert not client.add(key, "second")
    assert client.replace(key, "third")
    other = unique_key("bmc").decode()
    client.set_multi({other: "o"})
    assert client.get_multi([key, other, "missing-" + key]) == {key: "third", other: "o"}


def test_stats(client):
    stats = next(iter(client.stats().values()))
    assert "curr_items" in stats
