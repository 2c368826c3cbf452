"""HTTP Basic auth with the Couchbase 2.x rules (protocol.md 8), shared by REST and views.

* Admin = exact match of the configured admin user and password (everyone is admin when
  no admin user is configured).
* A bucket may be used by the admin, by ``bucket name : bucket password``, and without
  credentials when it has no password.
* Credentials that match nothing give 401, an unknown bucket 404.
"""
from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from aiohttp import web

from cbserver.engine import Bucket

if TYPE_CHECKING:
    from cbserver.server import Server

REALM = 'Basic realm="Couchbase Server Admin / REST"'

Credentials = tuple[str, str]


def request_credentials(request: web.Request) -> Credentials | None:
    """(user, password) from an ``Authorization: Basic`` header, None when absent or unusable."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def is_admin(server: "Server", creds: Credentials | None) -> bool:
    """True for the configured admin credentials (or for anyone if none are configured)."""
    admin_user, admin_password = server.admin
    if not admin_user:
        return True
    return creds is not None and creds == (admin_user, admin_password)


def bucket_allows(bucket: Bucket, creds: Credentials | None) -> bool:
    """True when non-admin ``creds`` may use ``bucket``."""
    if creds is None:
        return not bucket.password
    return creds[0] == bucket.name and creds[1] == bucket.password


def unauthorized(request: web.Request, why: str) -> web.HTTPUnauthorized:
    """A 401 with the 2.x realm header (left out if the client asked for no challenge)."""
    headers = {}
    if request.headers.get("invalid-auth-response", "").lower() != "on":
        headers["WWW-Authenticate"] = REALM
    return web.HTTPUnauthorized(headers=headers, text=why)


def require_admin(server: "Server", request: web.Request) -> None:
    """Raise 401 unless the request carries the admin credentials."""
    if not is_admin(server, request_credentials(request)):
        raise unauthorized(request, f"{request.method} {request.path} needs the admin credentials")


def require_known_credentials(server: "Server", request: web.Request) -> Credentials | None:
    """Raise 401 for credentials that are neither the admin's nor any bucket's, and for
    anonymous requests when every bucket has a password."""
    creds = request_credentials(request)
    if is_admin(server, creds):
        return creds
    if creds is None:
        if any(not b.password for b in server.buckets.values()) or not server.buckets:
            return None
        raise unauthorized(request, "credentials required")
    bucket = server.buckets.get(creds[0])
    if bucket is None or not bucket_allows(bucket, creds):
        raise unauthorized(request, f"bad credentials for user {creds[0]!r}")
    return creds


def check_bucket_access(server: "Server", request: web.Request, bucket_name: str) -> Bucket:
    """The bucket if the request may use it; raises 404 (unknown bucket) or 401."""
    bucket = server.buckets.get(bucket_name)
    if bucket is None:
        raise web.HTTPNotFound(text=f"Requested resource not found: no bucket {bucket_name!r}")
    creds = request_credentials(request)
    if is_admin(server, creds) or bucket_allows(bucket, creds):
        return bucket
    raise unauthorized(request, f"no access to bucket {bucket_name!r}")
