"""``python -m cbserver`` refuses, with a message naming the file, to start on bad data."""
from __future__ import annotations

import subprocess
import sys

from support.cbserver_process import CbserverProcess

COMMAND = [sys.executable, "-m", "cbserver", "--rest-port", "0", "--kv-port", "0",
           "--views-port", "0"]


def _start(data_dir) -> subprocess.CompletedProcess:
    return subprocess.run(COMMAND + ["--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_corrupt_bucket_database_stops_the_start(tmp_path) -> None:
    server = CbserverProcess(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    server.wait_warm().close()
    assert server.terminate() == 0
    path = tmp_path / "buckets" / "default" / "kv.sqlite3"
    path.write_bytes(b"\x13" * 5000)
    result = _start(tmp_path)
    assert result.returncode == 1
    assert f"cbserver: cannot start: {path}" in result.stderr
    assert "not an SQLite database" in result.stderr


def test_damaged_definitions_file_stops_the_start(tmp_path) -> None:
    (tmp_path / "buckets.json").write_text("{\"format\": 1, \"buckets\": [")
    result = _start(tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "buckets.json") in result.stderr


def test_second_server_on_the_same_data_dir_is_refused(tmp_path) -> None:
    first = CbserverProcess(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    try:
        result = _start(tmp_path)
        assert result.returncode == 1
        assert "in use by another cbserver" in result.stderr
        assert str(first.proc.pid) in result.stderr
    finally:
        assert first.terminate() == 0
