"""The views (8092-style) HTTP application: the view engine's routes when it is present."""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from cbserver.server import Server

log = logging.getLogger(__name__)


async def _root(request: web.Request) -> web.Response:
    return web.json_response({"couchdb": "Welcome", "version": "2.5.1"})


def build_views_app(server: "Server") -> web.Application:
    """An aiohttp app for the views port; ``cbserver.views.http.setup_routes`` fills it."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    try:
        views_http = importlib.import_module("cbserver.views.http")
    except ModuleNotFoundError as exc:
        if exc.name not in ("cbserver.views", "cbserver.views.http"):
            raise
        log.info("view engine not installed; the views port answers only GET /")
        app.router.add_get("/", _root)
        return app
    views_http.setup_routes(app, server)
    if not any(r.resource is not None and r.resource.canonical == "/" for r in app.router.routes()):
        app.router.add_get("/", _root)
    return app
