"""One data (memcached-protocol) connection to a node: connect, SASL, liveness."""
from __future__ import annotations

import select
import socket
import time

from ..protocol import FrameError, Opcode, Status
from ..protocol.replies import Reply, pack_request, split_replies
from ..protocol.sasl import cram_md5_response, plain_message
from .rc import ClientIOError, Rc, rc_for_status
from .sockets import open_tcp

_POLL_IN = select.POLLIN | select.POLLPRI


class NodeConn:
    """A non-blocking socket to ``host:port``, the bytes received but not yet parsed
    (``rbuf``), the next opaque and a poller watching the socket for input."""

    __slots__ = ("host", "port", "sock", "rbuf", "opaque", "address", "poller")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self.sock: socket.socket | None = None
        self.rbuf = b""
        self.opaque = 0
        self.poller: select.poll | None = None

    def connect(self, user: str | None, password: str, timeout: float) -> None:
        """Open the socket and authenticate the bucket user (PLAIN, or CRAM-MD5 when
        the node offers it); ``user`` None skips SASL (the ``default`` bucket)."""
        self.close()
        deadline = time.monotonic() + timeout
        sock = open_tcp(self.host, self.port, timeout)
        self.sock = sock
        self.rbuf = b""
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
        poller = select.poll()
        poller.register(sock.fileno(), _POLL_IN)
        self.poller = poller

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

    def _call(self, opcode: int, key: bytes, value: bytes, deadline: float) -> Reply:
        """Blocking request/reply, used only during the handshake."""
        sock = self.sock
        self.opaque = (self.opaque + 1) & 0xFFFFFFFF
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(pack_request(opcode, key, b"", value, 0, self.opaque, 0))
        while True:
            replies, pos = split_replies(self.rbuf)
            if replies:
                self.rbuf = self.rbuf[pos:]
                return replies[0]
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data = sock.recv(65536)
            if not data:
                raise ClientIOError(Rc.NETWORK_ERROR, f"{self.address} closed during SASL")
            self.rbuf += data

    def is_open(self) -> bool:
        """True if the socket exists and the peer has not closed it while idle: an
        idle connection has nothing to read, so EOF or stray bytes both mean reconnect."""
        return self.poller is not None and not self.poller.poll(0)

    def close(self) -> None:
        """Drop the socket and whatever was buffered from it."""
        self.poller = None
        self.rbuf = b""
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
