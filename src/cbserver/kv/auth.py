"""SASL_LIST_MECHS, SASL_AUTH and SASL_STEP (protocol.md 1.4).

The 2.x rule: user = bucket name, password = that bucket's password; the admin user is
accepted too and may then select any bucket.  PLAIN and CRAM-MD5 as in 2.2-2.5, plus the
SCRAM family for newer clients.
"""
from __future__ import annotations

import logging

from couchbase.protocol import Frame, Status, encode_response
from couchbase.protocol.sasl import (SCRAM_HASHES, SaslError, ScramServer, cram_md5_challenge,
                                     cram_md5_verify, parse_plain)

from cbserver.engine import Bucket

from .responses import error, ok
from .state import Session

log = logging.getLogger(__name__)

MECHANISMS = ("CRAM-MD5", "PLAIN")
_LISTED = " ".join((*sorted(SCRAM_HASHES, reverse=True), *MECHANISMS)).encode()


def _password_of(session: Session, user: str) -> str | None:
    """The password ``user`` must present: a bucket's, or the admin's."""
    server = session.server
    bucket = server.buckets.get(user)
    if bucket is not None:
        return bucket.password
    admin_user, admin_password = server.admin
    if admin_user and user == admin_user:
        return admin_password
    return None


def _authenticated(session: Session, frame: Frame, user: str,
                   message: bytes = b"Authenticated") -> bytes:
    server = session.server
    bucket = server.buckets.get(user)
    session.sasl = None
    if bucket is not None:
        session.bucket = bucket
        session.admin = False
    else:
        session.admin = True
    return ok(frame, value=message)


def _refused(session: Session, frame: Frame, cause: str) -> bytes:
    log.info("SASL refused for %s: %s", session.peer_host, cause)
    session.sasl = None
    session.bucket = None
    session.selected = False
    session.admin = False
    return error(frame, Status.AUTH_ERROR, "Auth failure")


def handle_list_mechs(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Space-separated mechanism names."""
    return ok(frame, value=_LISTED)


def handle_auth(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Start (and for PLAIN finish) an authentication with the mechanism in the key."""
    mechanism = frame.key.decode("ascii", "replace")

    def lookup(user: str) -> str | None:
        return _password_of(session, user)

    try:
        if mechanism == "PLAIN":
            user, password = parse_plain(frame.value)
            expected = lookup(user)
            if expected is None or expected != password:
                return _refused(session, frame, f"bad PLAIN credentials for user {user!r}")
            return _authenticated(session, frame, user)
        if mechanism == "CRAM-MD5":
            challenge = cram_md5_challenge()
            session.sasl = (mechanism, challenge)
            return encode_continue(frame, challenge)
        if mechanism in SCRAM_HASHES:
            scram = ScramServer(mechanism)
            server_first = scram.first(frame.value, lookup)
            session.sasl = (mechanism, scram)
            return encode_continue(frame, server_first)
    except SaslError as exc:
        return _refused(session, frame, f"{mechanism}: {exc}")
    return _refused(session, frame, f"unsupported mechanism {mechanism!r}")


def handle_step(session: Session, frame: Frame, bucket: Bucket | None) -> bytes:
    """Continue the exchange SASL_AUTH started on this connection."""
    mechanism = frame.key.decode("ascii", "replace")
    pending = session.sasl
    if pending is None or pending[0] != mechanism:
        return _refused(session, frame, f"SASL_STEP for {mechanism!r} without a matching SASL_AUTH")
    try:
        if mechanism == "CRAM-MD5":
            user = cram_md5_verify(frame.value, pending[1],
                                   lambda name: _password_of(session, name))
            return _authenticated(session, frame, user)
        scram: ScramServer = pending[1]
        server_final = scram.final(frame.value)
        return _authenticated(session, frame, scram.user, server_final)
    except SaslError as exc:
        return _refused(session, frame, f"{mechanism}: {exc}")


def encode_continue(frame: Frame, challenge: bytes) -> bytes:
    """AUTH_CONTINUE carrying the server's challenge."""
    return encode_response(frame.opcode, Status.AUTH_CONTINUE, value=challenge, opaque=frame.opaque)
