"""The 8092-style view HTTP API: design documents and streamed view queries (protocol.md 7)."""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Iterator

from aiohttp import web

from .bucket_views import BucketViews, DesignDocumentMissing
from .ddocs import InvalidDesignDocument
from .execute import ViewNotFound, ViewResult
from .meta import doc_object
from .query import QueryParseError, ViewQuery, parse_query
from .service import BucketWarmingUp, ViewService

if TYPE_CHECKING:
    from cbserver.server import Server

log = logging.getLogger(__name__)

#: Result rows serialised per worker-thread step and written per HTTP chunk.
ROWS_PER_CHUNK = 500

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _error(status: int, error: str, reason: str) -> web.Response:
    """Return a CouchDB-style JSON error response."""
    return web.json_response({"error": error, "reason": reason}, status=status, dumps=_dumps)


class ViewHandlers:
    """The request handlers, bound to one server and its view service."""

    def __init__(self, server: "Server", service: ViewService) -> None:
        self.server = server
        self.service = service

    async def _views(self, request: web.Request) -> tuple[Any, BucketViews]:
        """Return the bucket named in the path (after auth) and its views."""
        bucket = self.server.check_bucket_access(request, request.match_info["bucket"])
        try:
            return bucket, await self.service.open(bucket)
        except BucketWarmingUp as exc:
            raise web.HTTPServiceUnavailable(
                text=_dumps({"error": "temporary_failure", "reason": exc.reason}),
                content_type="application/json") from None

    async def get_design(self, request: web.Request) -> web.Response:
        """GET /<bucket>/_design/<ddoc>: the body, with X-Couchbase-Meta."""
        _, views = await self._views(request)
        ddoc = views.ddocs.get(request.match_info["ddoc"])
        if ddoc is None:
            return _error(404, "not_found", "missing")
        return web.json_response(ddoc.body, dumps=_dumps,
                                 headers={"X-Couchbase-Meta": _dumps(ddoc.meta())})

    async def put_design(self, request: web.Request) -> web.Response:
        """PUT /<bucket>/_design/<ddoc>: validate, store and (re)build if the views changed."""
        bucket, _ = await self._views(request)
        if request.content_type != "application/json":
            return _error(400, "bad_request", "Content-Type must be application/json")
        try:
            ddoc = await self.service.put_design(bucket, request.match_info["ddoc"],
                                                 await request.read())
        except InvalidDesignDocument as exc:
            return _error(400, "invalid_design_document", exc.reason)
        return web.json_response({"ok": True, "id": ddoc.doc_id}, status=201, dumps=_dumps)

    async def delete_design(self, request: web.Request) -> web.Response:
        """DELETE /<bucket>/_design/<ddoc>."""
        _, views = await self._views(request)
        ddoc = await self.service.run(views.delete_design, request.match_info["ddoc"])
        if ddoc is None:
            return _error(404, "not_found", "missing")
        return web.json_response({"ok": True, "id": ddoc.doc_id}, dumps=_dumps)

    async def query_view(self, request: web.Request) -> web.StreamResponse:
        """GET/POST /<bucket>/_design/<ddoc>/_view/<view>: stream the result rows."""
        bucket, views = await self._views(request)
        try:
            query = parse_query(request.query, await _post_body(request))
        except QueryParseError as exc:
            return _error(400, "query_parse_error", exc.reason)
        ddoc, view = request.match_info["ddoc"], request.match_info["view"]
        if query.stale == "false":
            await self.service.run(views.drain)
        try:
            result = await self.service.run(views.query, ddoc, view, query, len(bucket))
        except QueryParseError as exc:
            return _error(400, "query_parse_error", exc.reason)
        except (DesignDocumentMissing, ViewNotFound) as exc:
            return _error(404, "not_found", exc.reason)
        return await self._stream(request, bucket, views, result, query)

    async def _stream(self, request: web.Request, bucket: Any, views: BucketViews,
                      result: ViewResult, query: ViewQuery) -> web.StreamResponse:
        """Write the result as chunked JSON: total_rows first, rows in batches, errors last.

        With ``stale=update_after`` the index update is queued on the view thread as soon
        as the rows are read, so every later query of this bucket sees it.
        """
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        head = "{" if result.total_rows is None else f'{{"total_rows":{result.total_rows},'
        await response.write(f'{head}"rows":['.encode())
        first = True
        while True:
            rows = await self.service.run(_take, result.rows, ROWS_PER_CHUNK)
            if not rows:
                break
            if query.include_docs:
                for row in rows:
                    row["doc"] = doc_object(row["id"], bucket.get(row["id"].encode()))
            text = ",\r\n".join(map(_dumps, rows))
            await response.write(((",\r\n" if not first else "\r\n") + text).encode())
            first = False
        if query.stale == "update_after":
            self.service.submit(views.drain)
        tail = "\r\n]"
        if result.errors:
            tail += ',\r\n"errors":' + _dumps(result.errors)
        if result.debug_info is not None:
            tail += ',\r\n"debug_info":' + _dumps(result.debug_info)
        await response.write((tail + "\r\n}\n").encode())
        await response.write_eof()
        return response


def _take(rows: Iterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Pull up to ``count`` rows from a lazy result (runs on the view worker thread)."""
    out = []
    for row in rows:
        out.append(row)
        if len(out) >= count:
            break
    return out


async def _post_body(request: web.Request) -> dict[str, Any] | None:
    """Return the JSON object body of a POST query (None for GET); raise on bad bodies."""
    if request.method != "POST":
        return None
    if request.content_type != "application/json":
        raise QueryParseError("POST view queries need Content-Type: application/json")
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        raise QueryParseError("POST body is not valid JSON") from None
    if not isinstance(body, dict):
        raise QueryParseError("POST body must be a JSON object")
    return body


def ddocs_listing(views: BucketViews) -> dict[str, Any]:
    """Return the 8091 ``/pools/default/buckets/<b>/ddocs`` body for a bucket."""
    rows = []
    for ddoc in views.ddocs:
        base = f"/pools/default/buckets/{views.bucket_name}/ddocs/{ddoc.doc_id.replace('/', '%2F')}"
        rows.append({"doc": {"meta": {"id": ddoc.doc_id, "rev": ddoc.rev}, "json": ddoc.body},
                     "controllers": {"compact": f"{base}/controller/compactView",
                                     "setUpdateMinChanges": f"{base}/controller/setUpdateMinChanges"}})
    return {"rows": rows}


def setup_routes(app: web.Application, server: "Server") -> None:
    """Mount the view API of ``server.views`` on the views-port app."""
    handlers = ViewHandlers(server, server.views)
    design = "/{bucket}/_design/{ddoc}"
    app.router.add_get(design, handlers.get_design)
    app.router.add_put(design, handlers.put_design)
    app.router.add_delete(design, handlers.delete_design)
    app.router.add_get(design + "/_view/{view}", handlers.query_view)
    app.router.add_post(design + "/_view/{view}", handlers.query_view)
