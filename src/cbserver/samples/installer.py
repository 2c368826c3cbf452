"""Installs a sample data set as a bucket, the way Couchbase Server 2.x's cbdocloader did."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable

from cbserver.engine import BucketSettings
from cbserver.samples.catalog import QUOTA_NEEDED, get_sample
from cbserver.views.ddocs import InvalidDesignDocument

log = logging.getLogger(__name__)

#: progress(done, total) is called after every batch of this many documents, and at the end.
PROGRESS_EVERY = 500

Progress = Callable[[int, int], None]


class SampleAlreadyLoaded(ValueError):
    """Raised when the bucket a sample would create exists already."""


def is_installed(server: Any, name: str) -> bool:
    """Tell whether a bucket named after the sample exists on `server`."""
    return name in server.buckets


async def install_sample(server: Any, name: str, progress: Progress | None = None) -> int:
    """Create bucket `name` and load the sample's documents and design documents.

    A coroutine for the server's event loop (the engine is not thread-safe): documents go
    straight into the engine, design documents through the server's view service.
    Returns the number of documents loaded; raises SampleNotFound or SampleAlreadyLoaded.
    """
    sample = get_sample(name)
    if is_installed(server, name):
        raise SampleAlreadyLoaded(f"Sample bucket {name} is already loaded.")
    started = time.monotonic()
    documents = list(sample.documents())
    bucket = server.create_bucket(BucketSettings(
        name=name, num_vbuckets=server.config.vbuckets, ram_quota=QUOTA_NEEDED,
        flush_enabled=False))
    total = len(documents)
    for done, (key, value) in enumerate(documents, 1):
        status, _ = bucket.store("set", key.encode("utf-8"), value, 0, 0)
        if status:
            raise RuntimeError(f"loading sample {name}: storing key {key!r} failed "
                               f"with status {status!r}")
        if done % PROGRESS_EVERY == 0 or done == total:
            if progress is not None:
                progress(done, total)
            await asyncio.sleep(0)
    for ddoc in sample.design_documents():
        await install_design_document(server, name, ddoc)
    log.info("installed sample %s: %d documents in %.2f s", name, total,
             time.monotonic() - started)
    return total


async def install_design_document(server: Any, bucket_name: str, ddoc: dict[str, Any]) -> None:
    """Store one design document of the sample through the server's view service."""
    design_name = ddoc["_id"].removeprefix("_design/")
    body = json.dumps(ddoc, ensure_ascii=False).encode("utf-8")
    try:
        await server.views.put_design(server.buckets[bucket_name], design_name, body)
    except InvalidDesignDocument as exc:
        raise RuntimeError(f"loading sample {bucket_name}: {ddoc['_id']} is invalid: "
                           f"{exc.reason}") from None
