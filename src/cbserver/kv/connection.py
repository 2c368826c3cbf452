"""The KV connection loop: decode every complete frame of each read, run the handlers in
order and answer the whole batch with a single write."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from couchbase.protocol import (MAX_KEY_LEN, MAX_VALUE_LEN, Frame, FrameDecoder, FrameError,
                                Magic, Opcode, Status, encode_response, parse_frame_infos)

from .dispatch import HANDLERS, KEYED
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


class KVProtocol(asyncio.Protocol):
    """One client connection on the KV port."""

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.decoder = FrameDecoder(MAX_REQUEST_BODY)
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
        """Serve every complete request received so far, replies in request order."""
        decoder = self.decoder
        decoder.feed(data)
        session = self.session
        out: list[bytes] = []
        reason = None
        try:
            for frame in decoder:
                if frame.magic not in _ACCEPTED_MAGICS:
                    reason = f"magic 0x{frame.magic:02x} is not a client request"
                    break
                entry = HANDLERS.get(frame.opcode)
                if entry is None:
                    out.append(error(frame, Status.UNKNOWN_COMMAND,
                                     f"unknown command 0x{frame.opcode:02x}"))
                    continue
                handler, needs = entry
                bucket = None
                if needs:
                    bucket = session.data_bucket()
                    if bucket is None:
                        out.append(error(frame, Status.AUTH_ERROR,
                                         "authenticate (SASL) for a bucket first"))
                        continue
                    if bucket.deleted:
                        reason = f"bucket {bucket.name!r} was deleted"
                        break
                    if bucket.warming_up and frame.opcode != Opcode.STAT:
                        out.append(error(frame, Status.ETMPFAIL,
                                         f"bucket {bucket.name!r} is warming up"))
                        continue
                    if needs == KEYED:
                        problem = self._check_key(frame, bucket)
                        if problem is not None:
                            out.append(problem)
                            continue
                if frame.framing_extras:
                    try:
                        parse_frame_infos(frame.framing_extras)
                    except FrameError as exc:
                        out.append(error(frame, Status.EINVAL, f"bad framing extras: {exc}"))
                        continue
                try:
                    reply = handler(session, frame, bucket)
                except Exception:
                    log.exception("opcode 0x%02x on key %r failed", frame.opcode, frame.key)
                    reply = error(frame, Status.EINTERNAL)
                if reply is not None:
                    out.append(reply)
                if session.closing:
                    reason = "client sent QUIT"
                    break
        except FrameError as exc:
            reason = f"malformed request: {exc}"
        transport = self.transport
        if out:
            transport.write(b"".join(out))
        if reason is not None:
            if not session.closing:
                log.info("closing KV connection from %s: %s", session.peer_host, reason)
            transport.close()

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
