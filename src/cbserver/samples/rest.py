"""REST routes of the sample buckets: GET /sampleBuckets and POST /sampleBuckets/install."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from cbserver.rest.auth import require_admin
from cbserver.samples.catalog import QUOTA_NEEDED, SampleNotFound, available_samples
from cbserver.samples.installer import SampleAlreadyLoaded, install_sample, is_installed

log = logging.getLogger(__name__)

SAMPLES_SERVER_KEY = web.AppKey("samples_server", object)


def setup_routes(app: web.Application, server: Any) -> None:
    """Add the sample-bucket routes of protocol.md section 8 to the REST app."""
    app[SAMPLES_SERVER_KEY] = server
    app.router.add_get("/sampleBuckets", list_samples)
    app.router.add_post("/sampleBuckets/install", install_samples)


async def list_samples(request: web.Request) -> web.Response:
    """List every shipped sample, whether it is installed, and the quota it needs."""
    server = request.app[SAMPLES_SERVER_KEY]
    require_admin(server, request)
    return web.json_response([
        {"name": name, "installed": is_installed(server, name), "quotaNeeded": QUOTA_NEEDED}
        for name in available_samples()])


async def install_samples(request: web.Request) -> web.Response:
    """Install the samples named by a JSON array body: 202 `[]`, or 400 with messages."""
    server = request.app[SAMPLES_SERVER_KEY]
    require_admin(server, request)
    try:
        names = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.json_response(["The body must be a JSON array of sample names."],
                                 status=400)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return web.json_response(["The body must be a JSON array of sample names."],
                                 status=400)
    errors = []
    for name in dict.fromkeys(names):
        if name not in available_samples():
            errors.append(f"Sample {name} is not a valid sample.")
        elif is_installed(server, name):
            errors.append(f"Sample bucket {name} is already loaded.")
    if errors:
        return web.json_response(errors, status=400)
    for name in dict.fromkeys(names):
        try:
            await install_sample(server, name)
        except (SampleNotFound, SampleAlreadyLoaded) as exc:
            errors.append(str(exc))
    if errors:
        return web.json_response(errors, status=400)
    return web.json_response([], status=202)
