"""Streaming configs: chunked HTTP/1.1, four-newline delimiters, pushes on change."""
from __future__ import annotations

import json
import socket

import pytest
from resthttp import http

AUTH = "Authorization: Basic QWRtaW5pc3RyYXRvcjpwYXNzd29yZA==\r\n"  # Administrator:password


class Stream:
    """A raw HTTP/1.1 streaming request, decoding the chunked body into configs."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n".encode())
        self.raw = b""
        self.body = b""
        self.headers = b""
        self.ended = False

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("stream closed")
        self.raw += data
        if not self.headers and b"\r\n\r\n" in self.raw:
            self.headers, self.raw = self.raw.split(b"\r\n\r\n", 1)
        while self.headers and b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line, 16)
            if len(rest) < size + 2:
                return
            self.body += rest[:size]
            self.raw = rest[size + 2:]
            if size == 0:
                self.ended = True
                return

    def next_config(self) -> dict:
        while b"\n\n\n\n" not in self.body:
            self._fill()
        text, self.body = self.body.split(b"\n\n\n\n", 1)
        return json.loads(text)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("path, host", [("/pools/default/bucketsStreaming/default", "127.0.0.1"),
                                         ("/pools/default/bs/default", "$HOST")])
def test_stream_pushes_new_config_on_change(server_factory, path, host):
    srv = server_factory()
    stream = Stream(srv.rest_port, path)
    try:
        first = stream.next_config()
        assert b"transfer-encoding: chunked" in stream.headers.lower()
        assert stream.headers.startswith(b"HTTP/1.1 200")
        assert first["vBucketServerMap"]["serverList"] == [f"{host}:{srv.kv_port}"]
        assert http(srv.rest_port, "/pools/default/buckets", "POST",
                    form={"name": "another", "ramQuotaMB": "100"})[0] == 202
        second = stream.next_config()
        assert second["rev"] > first["rev"]
    finally:
        stream.close()


def test_stream_ends_when_its_bucket_is_deleted(server_factory):
    srv = server_factory(buckets=("default", "doomed"))
    stream = Stream(srv.rest_port, "/pools/default/bucketsStreaming/doomed")
    try:
        assert stream.next_config()["name"] == "doomed"
        assert http(srv.rest_port, "/pools/default/buckets/doomed", "DELETE")[0] == 200
        while not stream.ended:
            stream._fill()
        assert stream.body == b""
    finally:
        stream.close()


def test_stream_needs_credentials_for_protected_bucket(server):
    status = http(server.rest_port, "/pools/default/bucketsStreaming/protected", auth=None)[0]
    assert status == 401
