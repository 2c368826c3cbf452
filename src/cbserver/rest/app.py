"""The aiohttp application of the REST port and its routes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from cbserver.samples.rest import setup_routes as setup_sample_routes

from . import buckets_admin, ddocs, pools, streaming

if TYPE_CHECKING:
    from cbserver.server import Server


def build_rest_app(server: "Server") -> web.Application:
    """All 8091-style routes bound to ``server``."""
    app = web.Application()
    app[pools.SERVER_KEY] = server
    bucket = "/pools/default/buckets/{bucket}"
    app.router.add_get("/", pools.root)
    app.router.add_get("/pools", pools.get_pools)
    app.router.add_get("/pools/", pools.get_pools)
    app.router.add_get("/pools/default", pools.get_pool_default)
    app.router.add_get("/pools/default/buckets", pools.get_buckets)
    app.router.add_post("/pools/default/buckets", buckets_admin.create_bucket)
    app.router.add_get(bucket, pools.get_bucket)
    app.router.add_post(bucket, buckets_admin.update_bucket)
    app.router.add_delete(bucket, buckets_admin.delete_bucket)
    app.router.add_post(bucket + "/controller/doFlush", buckets_admin.flush_bucket)
    app.router.add_get(bucket + "/ddocs", ddocs.list_design_documents)
    app.router.add_get("/pools/default/b/{bucket}", pools.get_terse_bucket)
    app.router.add_get("/pools/default/bucketsStreaming/{bucket}", streaming.buckets_streaming)
    app.router.add_get("/pools/default/bs/{bucket}", streaming.terse_streaming)
    setup_sample_routes(app, server)
    return app
