"""The server benchmarks' load generator and measurements work and notice failures
(short runs against real servers; no figure is asserted)."""
from __future__ import annotations

import os

import pytest

from benchmarks import _pipelined_load, kv_instructions
from benchmarks._servers import Target, rss_kib
from benchmarks.server_connections import idle_bytes_per_connection


def test_pipelined_generator_runs_and_checks_replies(server_factory, memcached):
    srv = server_factory(buckets=("default",), vbuckets=1)
    for port in (srv.kv_port, memcached):
        rate = _pipelined_load.run("127.0.0.1", port, connections=2, window=8, seconds=0.2,
                                   keys=50, value_size=30)
        assert rate > 0
    bucket = srv.server.buckets["default"]
    assert len(bucket) == 2 * 50  # every key of both connections was stored and read


def test_pipelined_generator_fails_on_error_replies(server_factory):
    """Without a password-free default bucket every request is refused: it must say so."""
    srv = server_factory(buckets=("protected:secret",))
    with pytest.raises(RuntimeError, match="failed"):
        _pipelined_load.run("127.0.0.1", srv.kv_port, connections=1, window=8, seconds=0.2,
                            keys=50, value_size=30)


def test_idle_connection_memory_is_measured(server_factory):
    srv = server_factory(buckets=("default",))
    target = Target("cbserver", "127.0.0.1", srv.kv_port, os.getpid())
    assert rss_kib(target.pid) > 0
    idle_bytes_per_connection(target, count=50)
    assert srv.server.kv_total_connections == 16 + 50  # warm-up ones, then the idle ones


@pytest.mark.parametrize("mode", kv_instructions.MODES)
def test_instruction_harness_serves_every_request_on_the_fast_path(mode):
    """What Callgrind counts is the real receive path: every request answered, every GET
    a hit (``feed`` raises otherwise); without valgrind it runs in under a second."""
    kv_instructions.feed(mode, 256)
