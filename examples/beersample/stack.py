"""The database side of the app: an embedded cbserver holding beer-sample, with the views set up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable

from cbserver.embedded import EmbeddedServer
from cbserver.samples import install_sample, is_installed
from couchbase import Couchbase

from beersample.views_setup import setup_views

log = logging.getLogger(__name__)

BUCKET = "beer-sample"
INSTALL_TIMEOUT = 120.0


class BeerSampleStack:
    """Starts cbserver on free ports, installs beer-sample if missing and sets up the views."""

    def __init__(self, data_dir: Path | None = None) -> None:
        """Keep cbserver's data in `data_dir` (None: in memory only)."""
        self.data_dir = data_dir
        self.server: EmbeddedServer | None = None

    def start(self, progress: Callable[[int, int], None] | None = None) -> "BeerSampleStack":
        """Start the server, load the sample when it is not there yet, publish the views."""
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = EmbeddedServer(
            buckets=(), data_dir=str(self.data_dir) if self.data_dir else None,
            ephemeral=self.data_dir is None).start()
        if not self.server.call(is_installed, self.server.server, BUCKET):
            asyncio.run_coroutine_threadsafe(
                install_sample(self.server.server, BUCKET, progress),
                self.server.loop).result(INSTALL_TIMEOUT)
        setup_views(self.connect())
        return self

    def connect(self) -> Any:
        """Open a new 1.0 client connection to the beer-sample bucket."""
        return Couchbase.connect(bucket=BUCKET, host=self.server.host,
                                 port=self.server.rest_port)

    def app_settings(self) -> dict[str, Any]:
        """Return the app settings that point at this server."""
        return {"DATABASE": BUCKET, "HOST": self.server.host, "PORT": self.server.rest_port}

    def stop(self) -> None:
        """Stop the server (it flushes its data when persistence is on)."""
        if self.server is not None:
            self.server.stop()
            self.server = None
