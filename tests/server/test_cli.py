"""The ``cbserver`` command: free ports, printed ports, clean stop on SIGTERM/SIGINT."""
from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from resthttp import get_json

from couchbase.protocol import Opcode, Status
from support.rawkv import KV


@contextlib.contextmanager
def cbserver(*args: str) -> Iterator[tuple[subprocess.Popen, dict[str, int]]]:
    """``python -m cbserver`` on free ports with ``args``: the process and its printed ports;
    killed at the end unless the test stopped it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cbserver", "--rest-port", "0", "--kv-port", "0",
         "--views-port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        ports = {name: int(port) for name, port in re.findall(r"(rest|kv|views) port (\d+)", line)}
        assert set(ports) == {"rest", "kv", "views"}, line + proc.stderr.read()
        yield proc, ports
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_starts_prints_ports_and_stops(stop_signal):
    with cbserver("--bucket", "default", "--bucket", "secure:pw", "--admin",
                  "Administrator:password", "--vbuckets", "64", "--ephemeral") as (proc, ports):
        config = get_json(ports["rest"], "/pools/default/buckets/secure")
        assert len(config["vBucketServerMap"]["vBucketMap"]) == 64
        with KV(ports["kv"], num_vbuckets=64) as kv:
            assert kv.set(b"cli-key", b"v").status == Status.SUCCESS
            assert kv.request(Opcode.GET, b"cli-key", vbucket=64).status == Status.NOT_MY_VBUCKET
        proc.send_signal(stop_signal)
        assert proc.wait(30) == 0


def test_cli_rejects_bad_arguments():
    result = subprocess.run([sys.executable, "-m", "cbserver", "--admin", "nocolon"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--admin needs USER:PASSWORD" in result.stderr


def test_cli_installs_a_sample_bucket_with_progress():
    with cbserver("--ephemeral", "--sample", "beer-sample") as (proc, ports):
        progress = ""
        while "installed sample beer-sample" not in progress:
            line = proc.stderr.readline()
            assert line, progress
            progress += line
        assert "7303/7303" in progress
        rows = get_json(ports["views"], "/beer-sample/_design/beer/_view/brewery_beers?limit=1")
        assert rows["total_rows"] == 7303
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_cli_rejects_an_unknown_sample():
    result = subprocess.run([sys.executable, "-m", "cbserver", "--sample", "nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr
