"""A small blocking HTTP/1.1 client for config streams, views and management calls.

One request per TCP connection (``Connection: close``), so a streaming body can be
read for as long as the server keeps it open and closed from another thread.
"""
from __future__ import annotations

import base64
import socket
import time

from .chunked import ChunkedDecoder, ChunkedError
from .rc import ClientIOError, Rc
from .sockets import open_tcp

USER_AGENT = "libcouchbase/2.0.7 couchbase-classic/1.0.0"
_MAX_HEAD = 64 * 1024


def basic_auth(username: str, password: str) -> str:
    """Value of an ``Authorization: Basic`` header."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class HttpResponse:
    """Status, headers and a body reader of one response; owns its socket."""

    def __init__(self, sock: socket.socket, status: int, reason: str,
                 headers: dict[str, str], rest: bytes, deadline: float | None) -> None:
        self.sock = sock
        self.status = status
        self.reason = reason
        self.headers = headers
        self.deadline = deadline
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left = int(length) if length and length.isdigit() and not self.chunked else None
        self._decoder = ChunkedDecoder() if self.chunked else None
        self._pending = rest
        self.finished = False

    def read_some(self) -> bytes:
        """Next decoded body bytes (b"" once the body is complete)."""
        while not self.finished:
            data = self._pending or self._recv()
            self._pending = b""
            if not data:
                if self._decoder is not None or self._left:
                    raise ClientIOError(Rc.NETWORK_ERROR, "HTTP connection closed mid-body")
                self.finished = True
                return b""
            if self._decoder is not None:
                try:
                    payload = self._decoder.feed(data)
                except ChunkedError as exc:
                    raise ClientIOError(Rc.PROTOCOL_ERROR, f"bad chunked HTTP body: {exc}") from None
                self.finished = self._decoder.done
            else:
                payload = data
                if self._left is not None:
                    payload = data[:self._left]
                    self._left -= len(payload)
                    self.finished = self._left == 0
            if payload:
                return payload
        return b""

    def read_all(self) -> bytes:
        """The whole remaining body."""
        parts = []
        while True:
            data = self.read_some()
            if not data:
                return b"".join(parts)
            parts.append(data)

    def _recv(self) -> bytes:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ClientIOError(Rc.ETIMEDOUT, "HTTP response timed out")
            self.sock.settimeout(left)
        else:
            self.sock.settimeout(None)
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise ClientIOError(Rc.ETIMEDOUT, "HTTP response timed out") from None
        except OSError as exc:
            raise ClientIOError(Rc.NETWORK_ERROR, f"HTTP read failed: {exc}") from None

    def close(self) -> None:
        """Close the connection; safe to call from another thread to end a stream."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def request(host: str, port: int, method: str, path: str, *, timeout: float,
            headers: dict[str, str] | None = None, body: bytes = b"",
            auth: tuple[str, str] | None = None) -> HttpResponse:
    """Send one request and return the response once its head has arrived."""
    deadline = time.monotonic() + timeout
    sock = open_tcp(host, port, timeout)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"User-Agent: {USER_AGENT}",
             "Accept: application/json", "Connection: close"]
    if auth is not None:
        lines.append("Authorization: " + basic_auth(*auth))
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(wire)
        return _read_head(sock, deadline)
    except socket.timeout:
        sock.close()
        raise ClientIOError(Rc.ETIMEDOUT, f"HTTP {method} {path} to {host}:{port} timed out") from None
    except OSError as exc:
        sock.close()
        raise ClientIOError(Rc.NETWORK_ERROR,
                            f"HTTP {method} {path} to {host}:{port} failed: {exc}") from None
    except ClientIOError:
        sock.close()
        raise


def _read_head(sock: socket.socket, deadline: float) -> HttpResponse:
    buf = bytearray()
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(buf) > _MAX_HEAD:
            raise ClientIOError(Rc.PROTOCOL_ERROR, "HTTP response head too large")
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        data = sock.recv(65536)
        if not data:
            raise ClientIOError(Rc.PROTOCOL_ERROR, "HTTP connection closed before a response")
        buf += data
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    status_parts = head[0].split(" ", 2)
    if len(status_parts) < 2 or not status_parts[0].startswith("HTTP/") \
            or not status_parts[1].isdigit():
        raise ClientIOError(Rc.PROTOCOL_ERROR, f"bad HTTP status line {head[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    reason = status_parts[2] if len(status_parts) > 2 else ""
    return HttpResponse(sock, int(status_parts[1]), reason, headers, bytes(buf[end + 4:]), deadline)
