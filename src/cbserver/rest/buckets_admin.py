"""Bucket management over REST: create, update, delete and flush (protocol.md 8)."""
from __future__ import annotations

import re

from aiohttp import web

from cbserver.engine import BucketSettings

from .auth import check_bucket_access, require_admin
from .pools import SERVER_KEY

MIB = 1024 * 1024
MIN_RAM_QUOTA_MB = 100
_NAME = re.compile(r"^[A-Za-z0-9._%-]{1,100}$")
_TYPES = {"couchbase": "membase", "membase": "membase", "memcached": "memcached"}


def _int_field(form, name: str, errors: dict, default: int | None, low: int, high: int) -> int | None:
    raw = form.get(name)
    if raw is None or raw == "":
        if default is None:
            errors[name] = f"{name} is required"
        return default
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"{name} must be an integer, got {raw!r}"
        return default
    if not low <= value <= high:
        errors[name] = f"{name} must be between {low} and {high}, got {value}"
    return value


def _validate_create(server, form) -> tuple[dict, BucketSettings | None]:
    errors: dict[str, str] = {}
    name = form.get("name", "")
    if not name:
        errors["name"] = "Bucket name cannot be empty"
    elif not _NAME.match(name) or name.startswith("."):
        errors["name"] = ("Bucket name can only contain characters in range A-Z, a-z, 0-9 as "
                          "well as underscore, period, dash & percent, and at most 100 of them")
    elif name in server.buckets:
        errors["name"] = "Bucket with given name already exists"
    bucket_type = _TYPES.get(form.get("bucketType", "membase"))
    if bucket_type is None:
        errors["bucketType"] = "invalid bucket type; use couchbase, membase or memcached"
    ram_mb = _int_field(form, "ramQuotaMB", errors, None, MIN_RAM_QUOTA_MB, 1 << 20)
    if "ramQuotaMB" in errors and ram_mb is not None and ram_mb < MIN_RAM_QUOTA_MB:
        errors["ramQuotaMB"] = f"RAM quota cannot be less than {MIN_RAM_QUOTA_MB} MB"
    auth_type = form.get("authType", "sasl")
    proxy_port = 0
    if auth_type == "none":
        proxy_port = _int_field(form, "proxyPort", errors, None, 1025, 65535) or 0
    elif auth_type != "sasl":
        errors["authType"] = "authType must be sasl or none"
    password = form.get("saslPassword", "") if auth_type == "sasl" else ""
    replicas = _int_field(form, "replicaNumber", errors, 1, 0, 3)
    _int_field(form, "threadsNumber", errors, 3, 2, 8)
    flush = _int_field(form, "flushEnabled", errors, 0, 0, 1)
    vbuckets = _int_field(form, "numVBuckets", errors, server.config.vbuckets, 1, 1024)
    if errors:
        return errors, None
    return errors, BucketSettings(name=name, password=password, bucket_type=bucket_type,
                                  ram_quota=ram_mb * MIB, num_vbuckets=vbuckets,
                                  replica_number=replicas, flush_enabled=bool(flush),
                                  proxy_port=proxy_port)


def _bad_request(errors: dict) -> web.Response:
    return web.json_response({"errors": errors, "summaries": {}}, status=400)


async def create_bucket(request: web.Request) -> web.Response:
    """``POST /pools/default/buckets``: 202 + Location, or 400 with per-field errors."""
    server = request.app[SERVER_KEY]
    require_admin(server, request)
    form = await request.post()
    errors, settings = _validate_create(server, form)
    if settings is None:
        return _bad_request(errors)
    if request.query.get("just_validate") == "1":
        return web.json_response({"errors": {}, "summaries": {}})
    server.create_bucket(settings)
    return web.Response(status=202, headers={"Location": f"/pools/default/buckets/{settings.name}"})


async def update_bucket(request: web.Request) -> web.Response:
    """``POST /pools/default/buckets/<b>``: change quota, password, replicas or flush."""
    server = request.app[SERVER_KEY]
    require_admin(server, request)
    bucket = check_bucket_access(server, request, request.match_info["bucket"])
    form = await request.post()
    errors: dict[str, str] = {}
    ram_mb = _int_field(form, "ramQuotaMB", errors, bucket.settings.ram_quota // MIB,
                        MIN_RAM_QUOTA_MB, 1 << 20)
    replicas = _int_field(form, "replicaNumber", errors, bucket.settings.replica_number, 0, 3)
    flush = _int_field(form, "flushEnabled", errors, int(bucket.settings.flush_enabled), 0, 1)
    if errors:
        return _bad_request(errors)
    settings = bucket.settings
    settings.ram_quota = ram_mb * MIB
    settings.replica_number = replicas
    settings.flush_enabled = bool(flush)
    if "saslPassword" in form:
        settings.password = form["saslPassword"]
    server.config_changed()
    return web.Response(status=200)


async def delete_bucket(request: web.Request) -> web.Response:
    """``DELETE /pools/default/buckets/<b>``: 200, or 404 for an unknown bucket."""
    server = request.app[SERVER_KEY]
    require_admin(server, request)
    if not server.delete_bucket(request.match_info["bucket"]):
        return web.Response(status=404, text="The bucket to be deleted was not found.")
    return web.Response(status=200)


async def flush_bucket(request: web.Request) -> web.Response:
    """``POST .../controller/doFlush``: 200; 400 when flush is disabled; 404 unknown bucket."""
    server = request.app[SERVER_KEY]
    bucket = check_bucket_access(server, request, request.match_info["bucket"])
    if not bucket.settings.flush_enabled:
        return web.json_response({"_": "Flush is disabled for the bucket"}, status=400)
    bucket.flush()
    return web.Response(status=200)
