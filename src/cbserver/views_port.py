"""The views (8092-style) HTTP application."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from cbserver.views.http import setup_routes

if TYPE_CHECKING:
    from cbserver.server import Server


async def _root(request: web.Request) -> web.Response:
    """Any HTTP answer on ``/`` is what SDKs' view-service ping looks for."""
    return web.json_response({"couchdb": "Welcome", "version": "2.5.1"})


def build_views_app(server: "Server") -> web.Application:
    """An aiohttp app for the views port: design documents and view queries."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/", _root)
    setup_routes(app, server)
    return app
