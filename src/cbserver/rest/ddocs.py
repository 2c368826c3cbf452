"""``GET /pools/default/buckets/<b>/ddocs``: a bucket's design documents on the REST port."""
from __future__ import annotations

from aiohttp import web

from cbserver.views.http import ddocs_listing
from cbserver.views.service import BucketWarmingUp

from .auth import check_bucket_access
from .pools import SERVER_KEY


async def list_design_documents(request: web.Request) -> web.Response:
    """The rows shape SDKs read (``rows[].doc.meta.id/rev``, ``doc.json.views``)."""
    server = request.app[SERVER_KEY]
    bucket = check_bucket_access(server, request, request.match_info["bucket"])
    try:
        views = await server.views.open(bucket)
    except BucketWarmingUp as exc:
        raise web.HTTPServiceUnavailable(text=exc.reason) from None
    return web.json_response(ddocs_listing(views))
