"""The KV connection loop: decode every complete frame of each read, run the handlers in
order and answer the whole batch with a single write."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from couchbase.protocol import (HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, Frame, FrameError, Magic,
                                Opcode, Status, encode_response, parse_frame_infos)
from couchbase.protocol.frames import HEADER, build_frame, parse_header

from .dispatch import HANDLERS, KEYED
from .fast_path import fast_bucket, serve_fast
from .responses import error
from .state import Session

if TYPE_CHECKING:
    from cbserver.engine import Bucket
    from cbserver.server import Server

log = logging.getLogger(__name__)

_ACCEPTED_MAGICS = frozenset((Magic.REQUEST, Magic.ALT_REQUEST))
#: Largest request body read; bigger headers close the connection (values between the
#: item limit and this still get a clean E2BIG).
MAX_REQUEST_BODY = 2 * MAX_VALUE_LEN + 64 * 1024
_KEY_ERROR = f"key must be 1 to {MAX_KEY_LEN} bytes"
_REQUEST = int(Magic.REQUEST)
_unpack_header = HEADER.unpack_from


class KVProtocol(asyncio.Protocol):
    """One client connection on the KV port."""

    __slots__ = ("server", "_partial", "_need", "session", "transport")

    def __init__(self, server: "Server") -> None:
        self.server = server
        self._partial: bytearray | None = None
        self._need = HEADER_LEN
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.session = Session(self.server, peer[0] if peer else "")
        self.server.kv_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.kv_closed(self)

    def pause_writing(self) -> None:
        """Stop reading while the client is not reading its replies."""
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        """Serve every complete request received so far, replies in request order.

        Headers are parsed straight off the received bytes; runs of the commonest
        requests go through :func:`.fast_path.serve_fast`, every other request through
        the dispatch table. A frame split across reads waits in ``_partial`` until
        ``_need`` bytes are there.
        """
        partial = self._partial
        if partial is not None:
            partial += data
            if len(partial) < self._need:
                return
            data = bytes(partial)
            self._partial = None
        session = self.session
        out: list[bytes] = []
        bucket = fast_bucket(session)
        pos = 0 if bucket is None else serve_fast(session, bucket, data, 0, out)
        if pos == len(data):
            if out:
                self.transport.write(b"".join(out))
            return
        self._serve_from(data, pos, out, bucket)

    def _serve_from(self, data: bytes, pos: int, out: list[bytes],
                    bucket: "Bucket | None") -> None:
        """Serve the requests of ``data`` from ``pos`` on (the fast path stopped there),
        write every reply of the read in ``out`` and keep an incomplete frame."""
        session = self.session
        reason = None
        need = HEADER_LEN
        end = len(data)
        while True:
            if end - pos < HEADER_LEN:
                break
            if data[pos] == _REQUEST:
                (magic, opcode, key_len, extras_len, datatype, vbucket, body_len, opaque,
                 cas) = _unpack_header(data, pos)
                framing_len = 0
                if extras_len + key_len > body_len:
                    reason = (f"malformed request: header lengths (framing 0 + extras "
                              f"{extras_len} + key {key_len}) exceed body length {body_len}")
                    break
            else:
                try:
                    (magic, opcode, framing_len, key_len, extras_len, datatype, vbucket, body_len,
                     opaque, cas) = parse_header(data[pos:pos + HEADER_LEN])
                except FrameError as exc:
                    reason = f"malformed request: {exc}"
                    break
            if body_len > MAX_REQUEST_BODY:
                reason = (f"malformed request: body length {body_len} exceeds the limit of "
                          f"{MAX_REQUEST_BODY} bytes")
                break
            start = pos + HEADER_LEN
            stop = start + body_len
            if stop > end:
                need = stop - pos
                break
            pos = stop
            frame = build_frame(magic, opcode, framing_len, key_len, extras_len, datatype,
                                vbucket, opaque, cas, data[start:stop])
            reason = self._serve(frame, out)
            if reason is not None:
                break
            bucket = fast_bucket(session)
            if bucket is not None:
                pos = serve_fast(session, bucket, data, pos, out)
        transport = self.transport
        if out:
            transport.write(b"".join(out))
        if reason is not None:
            if not session.closing:
                log.info("closing KV connection from %s: %s", session.peer_host, reason)
            transport.close()
        elif pos < end:
            self._partial = bytearray(memoryview(data)[pos:])
            self._need = need

    def _serve(self, frame: Frame, out: list[bytes]) -> str | None:
        """Serve one request through the dispatch table; a reason when the connection
        must close."""
        session = self.session
        if frame.magic not in _ACCEPTED_MAGICS:
            return f"magic 0x{frame.magic:02x} is not a client request"
        entry = HANDLERS.get(frame.opcode)
        if entry is None:
            out.append(error(frame, Status.UNKNOWN_COMMAND,
                             f"unknown command 0x{frame.opcode:02x}"))
            return None
        handler, needs = entry
        bucket = None
        if needs:
            bucket = session.data_bucket()
            if bucket is None:
                out.append(error(frame, Status.NO_BUCKET if session.xerror
                                 else Status.AUTH_ERROR,
                                 "authenticate (SASL) for a bucket first"))
                return None
            if bucket.deleted:
                return f"bucket {bucket.name!r} was deleted"
            if bucket.warming_up and frame.opcode != Opcode.STAT:
                out.append(error(frame, Status.ETMPFAIL,
                                 f"bucket {bucket.name!r} is warming up"))
                return None
            if needs == KEYED:
                problem = self._check_key(frame, bucket)
                if problem is not None:
                    out.append(problem)
                    return None
        if frame.framing_extras:
            try:
                parse_frame_infos(frame.framing_extras)
            except FrameError as exc:
                out.append(error(frame, Status.EINVAL, f"bad framing extras: {exc}"))
                return None
        try:
            reply = handler(session, frame, bucket)
        except Exception:
            log.exception("opcode 0x%02x on key %r failed", frame.opcode, frame.key)
            reply = error(frame, Status.EINTERNAL)
        if reply is not None:
            out.append(reply)
        if session.closing:
            return "client sent QUIT"
        return None

    def _check_key(self, frame: Frame, bucket: "Bucket") -> bytes | None:
        """EINVAL for a bad key; NOT_MY_VBUCKET (with the config) for a foreign vBucket."""
        key_len = len(frame.key)
        if key_len == 0 or key_len > MAX_KEY_LEN:
            return error(frame, Status.EINVAL, _KEY_ERROR)
        if frame.vbucket >= bucket.num_vbuckets and bucket.settings.bucket_type != "memcached":
            return encode_response(frame.opcode, Status.NOT_MY_VBUCKET,
                                   value=self.server.terse_config(bucket.name),
                                   opaque=frame.opaque)
        return None

    def close(self) -> None:
        """Drop the connection (server shutdown or bucket deletion)."""
        if self.transport is not None:
            self.transport.close()
