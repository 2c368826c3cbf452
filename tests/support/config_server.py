"""A real HTTP server for routing tests: serves a bucket's streaming config (chunked,
configs split by four newlines) that points at real KV ports, and pushes new
configs on demand."""
from __future__ import annotations

import base64
import json
import socket
import socketserver
import threading


#: vBuckets of the test topologies built on memcached nodes.
NUM_VBUCKETS = 64


def make_config(name: str, kv_ports: list[int], vbmap: list[list[int]], rev: int,
                password: str = "", rest_port: int = 1) -> dict:
    """A 2.x-style bucket config with ``len(vbmap)`` vBuckets over the given KV ports."""
    return {
        "rev": rev, "name": name, "bucketType": "membase", "saslPassword": password,
        "nodes": [{"hostname": f"127.0.0.1:{rest_port}", "couchApiBase": f"http://127.0.0.1:1/{name}",
                   "ports": {"direct": p}} for p in kv_ports],
        "vBucketServerMap": {"hashAlgorithm": "CRC", "numReplicas": 0,
                             "serverList": [f"127.0.0.1:{p}" for p in kv_ports],
                             "vBucketMap": vbmap},
    }


class ConfigServer:
    """Streams ``config`` for bucket ``name`` at ``/pools/default/bucketsStreaming/``."""

    def __init__(self, config: dict, auth: tuple[str, str] | None = None) -> None:
        self.config = config
        self.auth = auth
        self._cond = threading.Condition()
        self._version = 0
        self._closed = False
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._handle(self.rfile, self.wfile)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def push(self, config: dict) -> None:
        """Replace the config and stream it to every open stream."""
        with self._cond:
            self.config = config
            self._version += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, rfile, wfile) -> None:
        request = rfile.readline().decode()
        headers = {}
        while True:
            line = rfile.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        _, path, _ = request.split(" ", 2)
        name = self.config["name"]
        if self.auth is not None:
            want = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
            if headers.get("authorization") != want:
                wfile.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                return
        if path in (f"/pools/default/buckets/{name}", "/pools/"):
            body = json.dumps(self.config if path != "/pools/" else {"pools": []}).encode()
            wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        if path != f"/pools/default/bucketsStreaming/{name}":
            wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNot found")
            return
        wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/json\r\n\r\n")
        seen = -1
        try:
            while True:
                with self._cond:
                    while seen == self._version and not self._closed:
                        self._cond.wait(0.5)
                    if self._closed:
                        return
                    seen = self._version
                    body = json.dumps(self.config).encode()
                for chunk in (body, b"\n\n\n\n"):
                    wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.error):
            return
