"""The one-key fast path: one request written and its reply awaited on a single node
socket, with no generator, no per-batch tables and no frame objects. A batch of one
is the most common call, and round-trip latency is all it should cost."""
from __future__ import annotations

import select
import time

from ..protocol import FrameError
from ..protocol.replies import first_reply, pack_request, split_replies
from .node import NodeConn
from .ops import Op
from .rc import Rc, rc_for_status

_RECV_SIZE = 256 * 1024
_monotonic = time.monotonic


def round_trip(node: NodeConn, op: Op, vbucket: int, deadline: float) -> None:
    """Send ``op`` to the open ``node`` and finish it with the reply, or with
    ETIMEDOUT / NETWORK_ERROR / PROTOCOL_ERROR (the connection is then dropped)."""
    opaque = node.opaque = (node.opaque + 1) & 0xFFFFFFFF
    data = pack_request(op.opcode, op.key, op.extras, op.value, vbucket, opaque, op.cas)
    op.server = node.address
    sock = node.sock
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        _fail(node, op, Rc.NETWORK_ERROR)
        return
    if sent < len(data) and not _send_rest(node, op, memoryview(data)[sent:], deadline):
        return
    poll = node.poller.poll
    buf = node.rbuf
    while True:
        reply, stop = first_reply(buf)
        if reply is not None and reply.opaque == opaque:
            node.rbuf = buf[stop:] if stop < len(buf) else b""
            status = reply.status
            op.rc = 0 if status == 0 else rc_for_status(status)
            op.reply = reply
            return
        if len(buf) >= 24:
            try:
                replies, pos = split_replies(buf)
            except FrameError:
                _fail(node, op, Rc.PROTOCOL_ERROR)
                return
            for reply in replies:
                if reply.opaque == opaque:
                    node.rbuf = buf[pos:] if pos < len(buf) else b""
                    op.rc = rc_for_status(reply.status)
                    op.reply = reply
                    return
            buf = buf[pos:]
        left = deadline - _monotonic()
        if left <= 0 or not poll(left * 1000.0 + 1):
            _fail(node, op, Rc.ETIMEDOUT)
            return
        try:
            data = sock.recv(_RECV_SIZE)
        except BlockingIOError:
            continue
        except OSError:
            _fail(node, op, Rc.NETWORK_ERROR)
            return
        if not data:
            _fail(node, op, Rc.NETWORK_ERROR)
            return
        buf = buf + data if buf else data


def _send_rest(node: NodeConn, op: Op, rest: memoryview, deadline: float) -> bool:
    """Finish a write the socket buffer could not take at once (False: ``op`` failed)."""
    poller = select.poll()
    poller.register(node.sock.fileno(), select.POLLOUT)
    while rest:
        left = deadline - _monotonic()
        if left <= 0 or not poller.poll(left * 1000.0 + 1):
            _fail(node, op, Rc.ETIMEDOUT)
            return False
        try:
            rest = rest[node.sock.send(rest):]
        except BlockingIOError:
            continue
        except OSError:
            _fail(node, op, Rc.NETWORK_ERROR)
            return False
    return True


def _fail(node: NodeConn, op: Op, rc: int) -> None:
    op.finish(rc)
    node.close()
