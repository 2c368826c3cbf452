"""Pipelined execution of a batch over several node sockets, written as a generator
that never blocks: it yields the sockets it waits on and is resumed with the ready
ones (psycopg 3's generators/waiting split). ``waiting.drive`` runs it."""
from __future__ import annotations

import struct
from collections.abc import Generator

from ..protocol import FrameError, Magic, Opcode
from ..protocol.replies import HEADER, pack_request, split_replies
from .node import NodeConn
from .ops import Op
from .rc import Rc, rc_for_status

READ = 1
WRITE = 4
#: What the generator yields: (socket fileno, READ|WRITE) pairs to wait on.
Waits = list[tuple[int, int]]
#: What it is sent back: {fileno: ready events}.
Ready = dict[int, int]

#: Gets sent quietly (only hits answer) when a node gets more than one op; a NOOP
#: after them marks the end, so every quiet get unanswered by then was a miss.
_QUIET_GET = {Opcode.GET.value: Opcode.GETQ.value, Opcode.GAT.value: Opcode.GATQ.value}
_NO_QUIET: dict[int, int] = {}
_STAT = Opcode.STAT.value
_REQUEST = Magic.REQUEST.value
_pack_header = HEADER.pack
_NOOP = Opcode.NOOP.value
#: Requests encoded per send: small enough for the node to start early, large enough
#: to keep the number of send calls low.
_CHUNK = 4096
_RECV_SIZE = 256 * 1024


class NodePipe:
    """The requests of one batch bound for one node, and the bookkeeping of replies.

    Requests are encoded and sent in chunks of ``_CHUNK``: the node starts on the
    first chunk while the next is being encoded, and its replies can be parsed while
    it works on the rest.
    """

    __slots__ = ("node", "ops", "next", "out", "sent", "waiting", "quiet", "noop", "error")

    def __init__(self, node: NodeConn, ops: list[tuple[Op, int]]) -> None:
        self.node = node
        self.ops = ops
        self.next = 0
        self.waiting: dict[int, Op] = {}
        self.quiet: list[int] | None = [] if len(ops) > 1 else None
        self.noop = 0
        self.error = 0
        self.out = memoryview(b"")
        self.sent = 0

    @property
    def done(self) -> bool:
        return not self.waiting and not self.noop and self.next >= len(self.ops)

    @property
    def wants_write(self) -> bool:
        return self.sent < len(self.out) or self.next < len(self.ops)

    def _encode_next(self) -> bool:
        """Encode the next chunk of requests (the NOOP closing quiet gets after the
        last); False when everything was encoded already."""
        ops = self.ops
        start = self.next
        total = len(ops)
        if start >= total:
            return False
        stop = min(start + _CHUNK, total)
        node = self.node
        waiting = self.waiting
        quiet = self.quiet
        parts = []
        append = parts.append
        opaque = node.opaque
        address = node.address
        quiet_get = _QUIET_GET if quiet is not None else _NO_QUIET
        quiet_append = quiet.append if quiet is not None else None
        try:
            for op, vbucket in ops[start:stop]:
                opaque = (opaque + 1) & 0xFFFFFFFF
                opcode = op.opcode
                if opcode in quiet_get:
                    opcode = quiet_get[opcode]
                    quiet_append(opaque)
                op.server = address
                waiting[opaque] = op
                key = op.key
                extras = op.extras
                value = op.value
                klen = len(key)
                elen = len(extras)
                append(_pack_header(_REQUEST, opcode, klen, elen, 0, vbucket,
                                    elen + klen + len(value), opaque, op.cas))
                append(extras + key + value if elen or value else key)
        except struct.error:
            pack_request(opcode, key, extras, value, vbucket, opaque, op.cas)
            raise
        if stop == total and quiet:
            opaque = (opaque + 1) & 0xFFFFFFFF
            self.noop = opaque
            append(pack_request(_NOOP, b"", b"", b"", 0, opaque, 0))
        node.opaque = opaque
        self.next = stop
        self.out = memoryview(b"".join(parts))
        self.sent = 0
        return True

    def fail(self, rc: int) -> None:
        """Finish every unanswered op with ``rc`` and drop the broken connection."""
        for op in self.waiting.values():
            op.finish(rc)
        for op, _ in self.ops[self.next:]:
            op.finish(rc)
        self.next = len(self.ops)
        self.waiting.clear()
        self.noop = 0
        self.error = rc
        self.node.close()

    def write(self) -> None:
        """Send what the socket takes, encoding further chunks as earlier ones go out."""
        sock = self.node.sock
        while True:
            if self.sent >= len(self.out) and not self._encode_next():
                return
            try:
                self.sent += sock.send(self.out[self.sent:])
            except BlockingIOError:
                return
            except OSError:
                self.fail(Rc.NETWORK_ERROR)
                return
            if self.sent < len(self.out):
                return

    def read(self) -> None:
        node = self.node
        try:
            data = node.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self.fail(Rc.NETWORK_ERROR)
            return
        if not data:
            self.fail(Rc.NETWORK_ERROR)
            return
        buf = node.rbuf + data if node.rbuf else data
        try:
            replies, pos = split_replies(buf)
        except FrameError:
            self.fail(Rc.PROTOCOL_ERROR)
            return
        node.rbuf = buf[pos:] if pos < len(buf) else b""
        waiting = self.waiting
        pop = waiting.pop
        for reply in replies:
            opaque = reply.opaque
            op = pop(opaque, None)
            if op is None:
                if opaque == self.noop and self.noop:
                    self._end_quiet()
                continue
            status = reply.status
            if status == 0:
                if op.opcode == _STAT and reply.key:
                    waiting[opaque] = op
                    if op.replies is None:
                        op.replies = []
                    op.replies.append(reply)
                    continue
                op.rc = 0
            else:
                op.rc = rc_for_status(status)
            op.reply = reply

    def _end_quiet(self) -> None:
        """The NOOP answered: every quiet get still unanswered was a miss."""
        waiting = self.waiting
        for opaque in self.quiet:
            op = waiting.pop(opaque, None)
            if op is not None:
                op.finish(Rc.KEY_ENOENT)
        self.noop = 0


def run_pipes(pipes: list[NodePipe]) -> Generator[Waits, Ready, None]:
    """Write every pipe's requests and read replies until all are answered."""
    by_fd = {pipe.node.sock.fileno(): pipe for pipe in pipes}
    for pipe in pipes:
        pipe.write()
    while True:
        waits = []
        for fd, pipe in by_fd.items():
            if not pipe.done:
                waits.append((fd, READ | WRITE if pipe.wants_write else READ))
        if not waits:
            return
        ready = yield waits
        for fd, events in ready.items():
            pipe = by_fd[fd]
            if pipe.done:
                continue
            if events & WRITE:
                pipe.write()
            if events & READ and not pipe.done:
                pipe.read()
