"""Bootstrap and live topology: read ``/pools/default/bucketsStreaming/<bucket>``
from the first host that answers (spec 13), then keep the stream open in a daemon
thread and hand every newer config to a callback (protocol.md 5.2)."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

from ..protocol.config import BucketConfig, ConfigError, ConfigStreamSplitter, parse_bucket_config
from . import http
from .rc import ClientIOError, Rc

log = logging.getLogger(__name__)

#: Pause between attempts to reopen a lost stream, growing up to the maximum.
RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0)


class ConfigStream:
    """One bucket's config stream: synchronous bootstrap, then background updates."""

    def __init__(self, hosts: list[tuple[str, int]], bucket: str,
                 auth: tuple[str, str] | None, timeout: float,
                 on_config: Callable[[BucketConfig], None], conncache: str | None = None) -> None:
        self.hosts = hosts
        self.bucket = bucket
        self.auth = auth
        self.timeout = timeout
        self.on_config = on_config
        self.conncache = conncache
        self._response: http.HttpResponse | None = None
        self._splitter = ConfigStreamSplitter()
        self._host = hosts[0][0]
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        return "/pools/default/bucketsStreaming/" + quote(self.bucket, safe="")

    def bootstrap(self) -> BucketConfig:
        """First config: from ``conncache`` if it holds one, else from the first host
        whose stream yields one; raises :class:`ClientIOError` when none does."""
        cached = self._read_cache()
        if cached is not None:
            self._start_thread(connect_first=True)
            return cached
        config = self._open_any(time.monotonic() + self.timeout)
        self._write_cache(config)
        self._start_thread(connect_first=False)
        return config

    def refresh(self, timeout: float) -> BucketConfig | None:
        """One-shot fetch of the current config (used after NOT_MY_VBUCKET)."""
        path = "/pools/default/buckets/" + quote(self.bucket, safe="")
        for host, port in self.hosts:
            try:
                resp = http.request(host, port, "GET", path, timeout=timeout, auth=self.auth)
                try:
                    body = resp.read_all()
                finally:
                    resp.close()
                if resp.status == 200:
                    return parse_bucket_config(body, host)
            except (ClientIOError, ConfigError) as exc:
                log.debug("config refresh from %s:%d failed: %s", host, port, exc)
        return None

    def close(self) -> None:
        """Stop the background thread and close the stream."""
        self._closed.set()
        resp = self._response
        if resp is not None:
            resp.close()

    def _open_any(self, deadline: float) -> BucketConfig:
        last: ClientIOError | None = None
        for host, port in self.hosts:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                return self._open(host, port, left, deadline)
            except ClientIOError as exc:
                log.debug("bootstrap from %s:%d failed: %s", host, port, exc)
                last = exc
        raise last or ClientIOError(Rc.ETIMEDOUT, f"no config for bucket {self.bucket!r} in time")

    def _open(self, host: str, port: int, timeout: float, deadline: float | None) -> BucketConfig:
        resp = http.request(host, port, "GET", self.path, timeout=timeout, auth=self.auth)
        try:
            if resp.status == 401:
                raise ClientIOError(Rc.AUTH_ERROR,
                                    f"authentication failed for bucket {self.bucket!r} at {host}:{port}")
            if resp.status == 404:
                raise ClientIOError(Rc.BUCKET_ENOENT, f"no bucket {self.bucket!r} at {host}:{port}")
            if resp.status != 200 or not resp.chunked:
                raise ClientIOError(Rc.PROTOCOL_ERROR,
                                    f"config stream from {host}:{port} answered HTTP {resp.status}"
                                    f"{'' if resp.chunked else ' without chunked encoding'}")
            resp.deadline = deadline
            splitter = ConfigStreamSplitter()
            while True:
                data = resp.read_some()
                if not data:
                    raise ClientIOError(Rc.PROTOCOL_ERROR,
                                        f"config stream from {host}:{port} ended before a config")
                configs = splitter.feed(data)
                if configs:
                    break
            config = _parse(configs[-1], host)
        except BaseException:
            resp.close()
            raise
        resp.deadline = None
        self._response = resp
        self._splitter = splitter
        self._host = host
        return config

    def _start_thread(self, connect_first: bool) -> None:
        self._thread = threading.Thread(target=self._run, args=(connect_first,),
                                        name=f"couchbase-config-{self.bucket}", daemon=True)
        self._thread.start()

    def _run(self, connect_first: bool) -> None:
        attempt = 0
        if connect_first:
            attempt = self._reconnect(attempt)
        while not self._closed.is_set():
            try:
                self._pump()
            except (ClientIOError, OSError) as exc:
                log.debug("config stream for %r lost: %s", self.bucket, exc)
            if self._response is not None:
                self._response.close()
                self._response = None
            attempt = self._reconnect(attempt)

    def _pump(self) -> None:
        resp = self._response
        if resp is None:
            return
        while not self._closed.is_set():
            data = resp.read_some()
            if not data:
                return
            for text in self._splitter.feed(data):
                try:
                    self._deliver(_parse(text, self._host))
                except ClientIOError as exc:
                    log.warning("ignoring bad config for bucket %r: %s", self.bucket, exc)

    def _reconnect(self, attempt: int) -> int:
        while not self._closed.is_set():
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            if attempt and self._closed.wait(delay):
                return attempt
            attempt += 1
            for host, port in self.hosts:
                if self._closed.is_set():
                    return attempt
                try:
                    config = self._open(host, port, self.timeout, time.monotonic() + self.timeout)
                except ClientIOError as exc:
                    log.debug("reopening config stream at %s:%d failed: %s", host, port, exc)
                    continue
                if self._closed.is_set():
                    self._response.close()
                    return attempt
                self._deliver(config)
                return 0
        return attempt

    def _deliver(self, config: BucketConfig) -> None:
        self._write_cache(config)
        self.on_config(config)

    def _read_cache(self) -> BucketConfig | None:
        if not self.conncache:
            return None
        try:
            with open(self.conncache, "rb") as fh:
                return parse_bucket_config(fh.read(), self.hosts[0][0])
        except (OSError, ConfigError):
            return None

    def _write_cache(self, config: BucketConfig) -> None:
        if not self.conncache:
            return
        tmp = f"{self.conncache}.tmp{os.getpid()}.{threading.get_ident()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(config.raw)
            os.replace(tmp, self.conncache)
        except OSError as exc:
            log.warning("cannot write config cache %s: %s", self.conncache, exc)


def _parse(text: bytes, host: str) -> BucketConfig:
    try:
        return parse_bucket_config(text, host)
    except ConfigError as exc:
        raise ClientIOError(Rc.PROTOCOL_ERROR, f"bad bucket config from {host}: {exc}") from None
