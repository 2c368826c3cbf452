"""One data (memcached-protocol) connection to a node: connect, SASL, liveness."""
from __future__ import annotations

import socket
import time

from ..protocol import FrameDecoder, FrameError, Opcode, Status, encode_request
from ..protocol.frames import Frame
from ..protocol.sasl import cram_md5_response, plain_message
from .rc import ClientIOError, Rc, rc_for_status
from .sockets import open_tcp


class NodeConn:
    """A non-blocking socket to ``host:port`` with its own frame decoder and opaques."""

    __slots__ = ("host", "port", "sock", "decoder", "opaque", "address")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self.sock: socket.socket | None = None
        self.decoder = FrameDecoder()
        self.opaque = 0

    def connect(self, user: str | None, password: str, timeout: float) -> None:
        """Open the socket and authenticate the bucket user (PLAIN, or CRAM-MD5 when
        the node offers it); ``user`` None skips SASL (the ``default`` bucket)."""
        self.close()
        deadline = time.monotonic() + timeout
        sock = open_tcp(self.host, self.port, timeout)
        self.sock = sock
        self.decoder = FrameDecoder()
        try:
            if user is not None:
                self._authenticate(user, password, deadline)
        except socket.timeout:
            self.close()
            raise ClientIOError(Rc.ETIMEDOUT, f"SASL with {self.address} timed out") from None
        except (OSError, FrameError) as exc:
            self.close()
            raise ClientIOError(Rc.NETWORK_ERROR, f"SASL with {self.address} failed: {exc}") from None
        except ClientIOError:
            self.close()
            raise
        sock.setblocking(False)

    def _authenticate(self, user: str, password: str, deadline: float) -> None:
        mechs = self._call(Opcode.SASL_LIST_MECHS, b"", b"", deadline)
        offered = mechs.value.decode("ascii", "replace").split() if mechs.status == 0 else []
        if "CRAM-MD5" in offered:
            reply = self._call(Opcode.SASL_AUTH, b"CRAM-MD5", b"", deadline)
            if reply.status == Status.AUTH_CONTINUE:
                reply = self._call(Opcode.SASL_STEP, b"CRAM-MD5",
                                   cram_md5_response(user, password, reply.value), deadline)
        else:
            reply = self._call(Opcode.SASL_AUTH, b"PLAIN", plain_message(user, password), deadline)
        if reply.status != Status.SUCCESS:
            rc = Rc.AUTH_ERROR if reply.status in (Status.AUTH_ERROR, Status.AUTH_CONTINUE) \
                else rc_for_status(reply.status)
            raise ClientIOError(rc, f"SASL authentication of {user!r} at {self.address} failed "
                                    f"(status 0x{reply.status:02x})")

    def _call(self, opcode: int, key: bytes, value: bytes, deadline: float) -> Frame:
        """Blocking request/reply, used only during the handshake."""
        sock = self.sock
        self.opaque += 1
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(encode_request(opcode, key, value=value, opaque=self.opaque))
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                return frame
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data = sock.recv(65536)
            if not data:
                raise ClientIOError(Rc.NETWORK_ERROR, f"{self.address} closed during SASL")
            self.decoder.feed(data)

    def is_open(self) -> bool:
        """True if the socket exists and the peer has not closed it while idle."""
        sock = self.sock
        if sock is None:
            return False
        try:
            data = sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        # An idle connection has nothing to read: EOF or stray bytes both mean reconnect.
        del data
        return False

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
