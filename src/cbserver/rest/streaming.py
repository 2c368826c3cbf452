"""Streaming bucket configs: chunked, each config followed by four newlines, a new config
pushed whenever it changes (``bucketsStreaming`` full form, ``bs`` terse form)."""
from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from cbserver.config_json import full_bucket_config

from .auth import check_bucket_access
from .pools import SERVER_KEY, host_of

DELIMITER = b"\n\n\n\n"

log = logging.getLogger(__name__)


async def _stream(request: web.Request, terse: bool) -> web.StreamResponse:
    server = request.app[SERVER_KEY]
    name = request.match_info["bucket"]
    bucket = check_bucket_access(server, request, name)
    host = host_of(request)

    def render() -> bytes | None:
        if server.buckets.get(name) is not bucket:
            return None
        if terse:
            return server.terse_config(name)
        return json.dumps(full_bucket_config(server, bucket, host, show_password=True)).encode()

    queue: asyncio.Queue = asyncio.Queue()
    server.config_watchers.add(queue)
    response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8",
                                           "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        last = render()
        await response.write(last)
        await response.write(DELIMITER)
        while True:
            if await queue.get() is None or server.stopping:
                break
            current = render()
            if current is None:
                break
            if current != last:
                last = current
                await response.write(current)
                await response.write(DELIMITER)
        await response.write_eof()
    except ConnectionError:
        log.debug("config stream of bucket %r closed by the client", name)
    finally:
        server.config_watchers.discard(queue)
    return response


async def buckets_streaming(request: web.Request) -> web.StreamResponse:
    """``GET /pools/default/bucketsStreaming/<b>``: full configs."""
    return await _stream(request, terse=False)


async def terse_streaming(request: web.Request) -> web.StreamResponse:
    """``GET /pools/default/bs/<b>``: terse configs with ``$HOST``."""
    return await _stream(request, terse=True)
