"""The one-key fast path: one request written and its reply awaited on a single node
socket, with no generator, no per-batch tables and no frame objects. A batch of one
is the most common call, and round-trip latency is all it should cost.

No liveness check precedes the send: a connection the node closed while idle (a
restart) shows up as the op's failure, and ``round_trip`` tells the caller when that
failure proves the node never received the request, so that one resend is safe."""
from __future__ import annotations

import errno
import select
import socket
import time

from ..protocol import FrameError
from ..protocol.replies import first_reply, pack_request, split_replies
from .node import NodeConn
from .ops import Op
from .rc import Rc, rc_for_status

_RECV_SIZE = 256 * 1024
_monotonic = time.monotonic
#: How long a connection that hit EOF may take to show the reset that proves the
#: node refused the request (one round trip; on loopback it is already there).
_RESET_GRACE = 0.2
#: Socket errors left by a node whose socket was gone when the request arrived.
_REFUSED = frozenset((errno.EPIPE, errno.ECONNRESET))


def round_trip(node: NodeConn, op: Op, vbucket: int, deadline: float) -> bool:
    """Send ``op`` to the open ``node`` and finish it with the reply, or with
    ETIMEDOUT / NETWORK_ERROR / PROTOCOL_ERROR (the connection is then dropped).

    Returns False, with ``op`` unfinished and the connection dropped, when the node
    provably never got the request: sending failed, or the first read met a reset,
    or EOF followed by the reset the node's kernel answers a closed socket's data
    with, before any reply byte. The caller may then reconnect and send it once more.
    """
    opaque = node.opaque = (node.opaque + 1) & 0xFFFFFFFF
    data = pack_request(op.opcode, op.key, op.extras, op.value, vbucket, opaque, op.cas)
    op.server = node.address
    sock = node.sock
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError as exc:
        return _refused(node, op, exc.errno in _REFUSED)
    if sent < len(data):
        outcome = _send_rest(node, op, memoryview(data)[sent:], deadline)
        if outcome is not None:
            return outcome
    poll = node.poller.poll
    buf = node.rbuf
    pristine = not buf
    while True:
        reply, stop = first_reply(buf) if buf else (None, 0)
        if reply is not None and reply.opaque == opaque:
            node.rbuf = buf[stop:] if stop < len(buf) else b""
            status = reply.status
            op.rc = 0 if status == 0 else rc_for_status(status)
            op.reply = reply
            return True
        if len(buf) >= 24:
            try:
                replies, pos = split_replies(buf)
            except FrameError:
                _fail(node, op, Rc.PROTOCOL_ERROR)
                return True
            for reply in replies:
                if reply.opaque == opaque:
                    node.rbuf = buf[pos:] if pos < len(buf) else b""
                    op.rc = rc_for_status(reply.status)
                    op.reply = reply
                    return True
            buf = buf[pos:]
        left = deadline - _monotonic()
        if left <= 0 or not poll(left * 1000.0 + 1):
            _fail(node, op, Rc.ETIMEDOUT)
            return True
        try:
            data = sock.recv(_RECV_SIZE)
        except BlockingIOError:
            continue
        except OSError as exc:
            return _refused(node, op, pristine and exc.errno == errno.ECONNRESET)
        if not data:
            return _refused(node, op, pristine and _reset_after_eof(sock, deadline))
        buf = buf + data if buf else data
        pristine = False


def _send_rest(node: NodeConn, op: Op, rest: memoryview, deadline: float) -> bool | None:
    """Finish a write the socket buffer could not take at once; None once all is
    sent, else what ``round_trip`` returns for the failure."""
    poller = select.poll()
    poller.register(node.sock.fileno(), select.POLLOUT)
    while rest:
        left = deadline - _monotonic()
        if left <= 0 or not poller.poll(left * 1000.0 + 1):
            _fail(node, op, Rc.ETIMEDOUT)
            return True
        try:
            rest = rest[node.sock.send(rest):]
        except BlockingIOError:
            continue
        except OSError as exc:
            return _refused(node, op, exc.errno in _REFUSED)
    return None


def _reset_after_eof(sock: socket.socket, deadline: float) -> bool:
    """After EOF with no reply byte: True if the node's kernel also reset the
    connection (SO_ERROR EPIPE), i.e. the socket was closed before our request
    arrived. A node that read the request and then closed leaves no such error."""
    poller = select.poll()
    poller.register(sock.fileno(), 0)
    wait = min(_RESET_GRACE, deadline - _monotonic())
    if wait > 0:
        poller.poll(wait * 1000.0)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) in _REFUSED


def _refused(node: NodeConn, op: Op, safe: bool) -> bool:
    """Drop the dead connection; leave ``op`` pending if resending is ``safe``,
    else finish it NETWORK_ERROR. Returns ``round_trip``'s verdict."""
    if safe:
        node.close()
        return False
    _fail(node, op, Rc.NETWORK_ERROR)
    return True


def _fail(node: NodeConn, op: Op, rc: int) -> None:
    op.finish(rc)
    node.close()
