"""The cbserver node: configuration, buckets and the KV, REST and views listeners."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from cbserver import __version__
from cbserver.config_json import terse_bucket_config
from cbserver.engine import Bucket, BucketSettings
from cbserver.kv.connection import KVProtocol
from cbserver.storage import default_data_dir
from cbserver.storage.node_storage import NodeStorage
from cbserver.views.service import ViewService

log = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True)
class BucketSpec:
    """A bucket to create at start: name and SASL password ("" = none)."""

    name: str
    password: str = ""

    @classmethod
    def parse(cls, text: str) -> "BucketSpec":
        """Parse ``NAME`` or ``NAME:PASSWORD`` as given on the command line."""
        name, _, password = text.partition(":")
        if not name:
            raise ValueError(f"bucket spec {text!r} has no name; use NAME or NAME:PASSWORD")
        return cls(name, password)


@dataclass
class ServerConfig:
    """Everything a Server needs, passed in explicitly (port 0 = pick a free port)."""

    host: str = "127.0.0.1"
    rest_port: int = 8091
    kv_port: int = 11210
    views_port: int = 8092
    buckets: tuple[BucketSpec, ...] = (BucketSpec("default"),)
    admin: tuple[str, str] = ("Administrator", "password")
    vbuckets: int = 1024
    data_dir: str | None = None
    ephemeral: bool = True
    ram_quota_mb: int = 256
    expiry_pager_interval: float = 10.0


class Server:
    """One single-node cluster: owns the buckets and serves KV, REST and views."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.host = config.host
        self.rest_port = config.rest_port
        self.kv_port = config.kv_port
        self.views_port = config.views_port
        self.proxy_port = 0
        self.admin = config.admin
        self.version = __version__
        self.uuid = uuid.uuid4().hex
        self.rev = 1
        self.rev_epoch = 0
        self.started_at = time.time()
        self.memory_total = _physical_memory()
        self.buckets: dict[str, Bucket] = {}
        self.kv_total_connections = 0
        self.config_watchers: set[asyncio.Queue] = set()
        self._kv_protocols: set[KVProtocol] = set()
        self._terse_cache: dict[str, bytes] = {}
        self._kv_server: asyncio.AbstractServer | None = None
        self._runners: list[web.AppRunner] = []
        self._pager: asyncio.Task | None = None
        self._stopping = False
        self.storage: NodeStorage | None = None
        self.views = ViewService(persistence_of=self._view_metadata)
        for spec in config.buckets:
            self.create_bucket(BucketSettings(
                name=spec.name, password=spec.password, num_vbuckets=config.vbuckets,
                ram_quota=config.ram_quota_mb * MIB, flush_enabled=True))

    # -- properties the REST and views layers read --------------------------------------

    @property
    def uptime(self) -> float:
        return time.time() - self.started_at

    @property
    def kv_connections(self) -> int:
        return len(self._kv_protocols)

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def node_status(self) -> str:
        """REST node status: ``warmup`` while a bucket loads from disk, ``unhealthy`` while
        storage is failing, else ``healthy``."""
        if any(bucket.warming_up for bucket in self.buckets.values()):
            return "warmup"
        if self.storage is not None and self.storage.manager.health.status == "failing":
            return "unhealthy"
        return "healthy"

    def persistence_stats(self, bucket: Bucket) -> dict:
        """The ep_* disk-queue and warmup figures of ``bucket`` for STAT."""
        if self.storage is None:
            return {"ep_queue_size": 0, "ep_flusher_todo": 0, "ep_warmup_thread": "complete"}
        return self.storage.stats(bucket)

    def advertised_host(self, request_host: str | None = None) -> str:
        """The host name configs carry: the bound address, or the one the client used."""
        if self.host in ("", "0.0.0.0", "::"):
            if request_host:
                return request_host.rsplit(":", 1)[0] if request_host.count(":") == 1 else request_host
            return socket.gethostname()
        return self.host

    def check_bucket_access(self, request: web.Request, bucket_name: str) -> Bucket:
        """The 2.x HTTP access rule for a bucket (see :mod:`cbserver.rest.auth`)."""
        from cbserver.rest.auth import check_bucket_access
        return check_bucket_access(self, request, bucket_name)

    # -- buckets -------------------------------------------------------------------------

    def create_bucket(self, settings: BucketSettings) -> Bucket:
        """Add a bucket; ValueError if the name is taken."""
        if settings.name in self.buckets:
            raise ValueError(f"bucket {settings.name!r} already exists")
        bucket = Bucket(settings)
        self.buckets[settings.name] = bucket
        if self.storage is not None:
            try:
                self.storage.attach(bucket)
            except BaseException:
                del self.buckets[settings.name]
                raise
        self.config_changed()
        return bucket

    def delete_bucket(self, name: str) -> bool:
        """Remove a bucket and drop the KV connections working on it; False if unknown."""
        bucket = self.buckets.pop(name, None)
        if bucket is None:
            return False
        bucket.deleted = True
        bucket.flush()
        if self.storage is not None:
            self.storage.delete(bucket)
        for protocol in list(self._kv_protocols):
            if protocol.session is not None and protocol.session.bucket is bucket:
                protocol.close()
        self.config_changed()
        return True

    def config_changed(self) -> None:
        """Bump ``rev`` and wake every streaming-config client."""
        self.rev += 1
        self._terse_cache.clear()
        if self.storage is not None:
            self.storage.save(self.buckets.values())
        for queue in list(self.config_watchers):
            queue.put_nowait(self.rev)

    def terse_config(self, bucket_name: str) -> bytes:
        """The cached terse config JSON of a bucket (CCCP, NOT_MY_VBUCKET, ``/b/``)."""
        cached = self._terse_cache.get(bucket_name)
        if cached is None:
            cached = json.dumps(terse_bucket_config(self, self.buckets[bucket_name])).encode()
            self._terse_cache[bucket_name] = cached
        return cached

    # -- KV connection registry ---------------------------------------------------------

    def kv_opened(self, protocol: KVProtocol) -> None:
        self._kv_protocols.add(protocol)
        self.kv_total_connections += 1

    def kv_closed(self, protocol: KVProtocol) -> None:
        self._kv_protocols.discard(protocol)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the three ports (0 = free port), then start serving on all of them."""
        from cbserver.rest.app import build_rest_app
        from cbserver.views_port import build_views_app

        loop = asyncio.get_running_loop()
        kv_sock = _listen(self.host, self.kv_port)
        rest_sock = _listen(self.host, self.rest_port)
        views_sock = _listen(self.host, self.views_port)
        if not self.config.ephemeral and self.storage is None:
            try:
                await self._open_storage()
            except BaseException:
                for sock in (kv_sock, rest_sock, views_sock):
                    sock.close()
                raise
        self.kv_port = kv_sock.getsockname()[1]
        self.rest_port = rest_sock.getsockname()[1]
        self.views_port = views_sock.getsockname()[1]
        self._terse_cache.clear()
        self.started_at = time.time()
        self._kv_server = await loop.create_server(lambda: KVProtocol(self), sock=kv_sock)
        for app, sock in ((build_rest_app(self), rest_sock), (build_views_app(self), views_sock)):
            runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                   shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            self._runners.append(runner)
        self._pager = asyncio.create_task(self._expiry_pager())
        self.views.start()
        log.info("cbserver listening on %s: rest %d, kv %d, views %d", self.host, self.rest_port,
                 self.kv_port, self.views_port)

    async def stop(self) -> None:
        """Stop accepting, end streams, close every connection."""
        self._stopping = True
        if self._pager is not None:
            self._pager.cancel()
        for queue in list(self.config_watchers):
            queue.put_nowait(None)
        if self._kv_server is not None:
            self._kv_server.close()
            for protocol in list(self._kv_protocols):
                protocol.close()
            await self._kv_server.wait_closed()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        await self.views.close()
        if self.storage is not None:
            await self.storage.close()

    async def _open_storage(self) -> None:
        """Open the data directory: stored buckets replace same-named configured ones, every
        bucket gets its definition and warmup; a corrupt file refuses the start."""
        storage = NodeStorage(self.config.data_dir or default_data_dir(),
                              pager_interval=self.config.expiry_pager_interval)
        for settings in storage.open():
            self.buckets[settings.name] = Bucket(settings)
        try:
            for bucket in self.buckets.values():
                storage.attach(bucket)
        except BaseException:
            await storage.close()
            raise
        self.storage = storage
        self.config_changed()
        log.info("persisting to %s", storage.root)

    def _view_metadata(self, bucket: Bucket):
        """The metadata table where the views of ``bucket`` persist (None when ephemeral)."""
        if self.storage is None:
            return None
        return self.storage.manager.bucket(bucket.name)

    async def _expiry_pager(self) -> None:
        """Periodically remove expired items nobody has touched (the 2.x expiry pager)."""
        while True:
            await asyncio.sleep(self.config.expiry_pager_interval)
            for bucket in list(self.buckets.values()):
                bucket.purge_expired()


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else
                                socket.AF_INET, backlog=1024)
    sock.setblocking(False)
    return sock


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4096 * MIB
