"""Run a cbserver inside the current Python process, on a background thread.

    with EmbeddedServer(buckets=("default", "secure:pw")) as srv:
        connect_to(srv.host, srv.rest_port)
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import Future

from .loop import new_event_loop
from .server import BucketSpec, Server, ServerConfig


class EmbeddedServer:
    """A cbserver whose event loop runs in a daemon thread; ports 0 pick free ports."""

    def __init__(self, host: str = "127.0.0.1", rest_port: int = 0, kv_port: int = 0,
                 views_port: int = 0, buckets: Iterable[str] = ("default",),
                 admin: tuple[str, str] = ("Administrator", "password"), vbuckets: int = 1024,
                 data_dir: str | None = None, ephemeral: bool | None = None,
                 **options) -> None:
        self.config = ServerConfig(
            host=host, rest_port=rest_port, kv_port=kv_port, views_port=views_port,
            buckets=tuple(BucketSpec.parse(b) for b in buckets), admin=tuple(admin),
            vbuckets=vbuckets, data_dir=data_dir,
            ephemeral=data_dir is None if ephemeral is None else ephemeral, **options)
        self.server: Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def rest_port(self) -> int:
        return self._running().rest_port

    @property
    def kv_port(self) -> int:
        return self._running().kv_port

    @property
    def views_port(self) -> int:
        return self._running().views_port

    def _running(self) -> Server:
        if self.server is None:
            raise RuntimeError("the embedded cbserver is not started")
        return self.server

    def start(self, timeout: float = 30.0) -> "EmbeddedServer":
        """Start the loop thread and return once every port is listening."""
        if self._thread is not None:
            raise RuntimeError("the embedded cbserver is already started")
        started: Future = Future()
        self.loop = new_event_loop()
        self.server = Server(self.config)
        self._thread = threading.Thread(target=self._run, args=(started,),
                                        name="cbserver", daemon=True)
        self._thread.start()
        started.result(timeout)
        return self

    def _run(self, started: Future) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as exc:
            started.set_exception(exc)
            loop.close()
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def wait_warm(self, timeout: float = 60.0) -> "EmbeddedServer":
        """Return once every bucket loaded from disk has finished its warmup (data
        operations answer ETMPFAIL until then); at once for an ephemeral server."""
        storage = self._running().storage
        if storage is not None:
            asyncio.run_coroutine_threadsafe(storage.wait_warm(), self.loop).result(timeout)
        return self

    def call(self, func, *args):
        """Run ``func(*args)`` on the server's loop thread and return its result."""
        async def run():
            return func(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving, close every connection and join the loop thread."""
        if self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        try:
            future.result(timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "EmbeddedServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        if self.server is None:
            return "EmbeddedServer(stopped)"
        return (f"EmbeddedServer(host={self.host!r}, rest_port={self.rest_port}, "
                f"kv_port={self.kv_port}, views_port={self.views_port})")
