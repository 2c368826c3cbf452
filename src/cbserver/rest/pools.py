"""One-shot GET endpoints: ``/``, ``/pools``, ``/pools/default``, bucket lists and configs."""
from __future__ import annotations

from aiohttp import web

from cbserver.config_json import (IMPLEMENTATION_VERSION, full_bucket_config, pools,
                                  pools_default)

from .auth import (bucket_allows, check_bucket_access, is_admin, request_credentials,
                   require_known_credentials)

SERVER_KEY = web.AppKey("server", object)
JSON_TYPE = "application/json"


def _server(request: web.Request):
    return request.app[SERVER_KEY]


def host_of(request: web.Request) -> str:
    """The host configs advertise to this client."""
    return _server(request).advertised_host(request.host)


async def root(request: web.Request) -> web.Response:
    """Any answer will do for clients that ping the management port."""
    return web.json_response({"implementationVersion": IMPLEMENTATION_VERSION})


async def get_pools(request: web.Request) -> web.Response:
    """``GET /pools``: the single pool ``default``."""
    server = _server(request)
    creds = require_known_credentials(server, request)
    return web.json_response(pools(server, is_admin(server, creds)))


async def get_pool_default(request: web.Request) -> web.Response:
    """``GET /pools/default``; a ``uuid`` that does not match gives 404."""
    server = _server(request)
    require_known_credentials(server, request)
    wanted = request.query.get("uuid")
    if wanted is not None and wanted != server.uuid:
        raise web.HTTPNotFound(text=f"pool uuid {wanted!r} does not match this cluster")
    return web.json_response(pools_default(server, host_of(request)))


async def get_buckets(request: web.Request) -> web.Response:
    """``GET /pools/default/buckets``: the buckets these credentials may see."""
    server = _server(request)
    require_known_credentials(server, request)
    creds = request_credentials(request)
    admin = is_admin(server, creds)
    host = host_of(request)
    visible = [full_bucket_config(server, b, host, show_password=True)
               for b in server.buckets.values() if admin or bucket_allows(b, creds)
               or not b.password]
    return web.json_response(visible)


async def get_bucket(request: web.Request) -> web.Response:
    """``GET /pools/default/buckets/<b>``: the full config with real host names."""
    server = _server(request)
    bucket = check_bucket_access(server, request, request.match_info["bucket"])
    return web.json_response(full_bucket_config(server, bucket, host_of(request),
                                                show_password=True))


async def get_terse_bucket(request: web.Request) -> web.Response:
    """``GET /pools/default/b/<b>``: the terse config with ``$HOST`` placeholders."""
    server = _server(request)
    bucket = check_bucket_access(server, request, request.match_info["bucket"])
    return web.Response(body=server.terse_config(bucket.name), content_type=JSON_TYPE)
