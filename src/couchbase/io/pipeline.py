"""Pipelined execution of a batch over several node sockets, written as a generator
that never blocks: it yields the sockets it waits on and is resumed with the ready
ones (psycopg 3's generators/waiting split). ``waiting.drive`` runs it."""
from __future__ import annotations

from collections.abc import Generator

from ..protocol import FrameError, Opcode
from ..protocol.replies import pack_request, split_replies
from .node import NodeConn
from .ops import Op
from .rc import Rc, rc_for_status

READ = 1
WRITE = 4
#: What the generator yields: (socket fileno, READ|WRITE) pairs to wait on.
Waits = list[tuple[int, int]]
#: What it is sent back: {fileno: ready events}.
Ready = dict[int, int]

_QUIET_GET = {Opcode.GET: Opcode.GETQ, Opcode.GAT: Opcode.GATQ}
_STAT = Opcode.STAT.value
_RECV_SIZE = 256 * 1024


class NodePipe:
    """The requests of one batch bound for one node, and the bookkeeping of replies."""

    __slots__ = ("node", "out", "sent", "waiting", "quiet", "noop", "error")

    def __init__(self, node: NodeConn, ops: list[tuple[Op, int]]) -> None:
        self.node = node
        waiting: dict[int, Op] = {}
        self.waiting = waiting
        self.quiet: list[int] = []
        self.noop = 0
        self.error = 0
        parts = []
        append = parts.append
        quiet_gets = len(ops) > 1 and sum(1 for op, _ in ops if op.opcode in _QUIET_GET) > 1
        opaque = node.opaque
        address = node.address
        for op, vbucket in ops:
            opaque = (opaque + 1) & 0xFFFFFFFF
            opcode = op.opcode
            if quiet_gets and opcode in _QUIET_GET:
                opcode = _QUIET_GET[opcode]
                self.quiet.append(opaque)
            op.server = address
            waiting[opaque] = op
            append(pack_request(opcode, op.key, op.extras, op.value, vbucket, opaque, op.cas))
        if self.quiet:
            opaque = (opaque + 1) & 0xFFFFFFFF
            self.noop = opaque
            append(pack_request(Opcode.NOOP, b"", b"", b"", 0, opaque, 0))
        node.opaque = opaque
        self.out = memoryview(b"".join(parts))
        self.sent = 0

    @property
    def done(self) -> bool:
        return not self.waiting and not self.noop

    def fail(self, rc: int) -> None:
        """Finish every unanswered op with ``rc`` and drop the broken connection."""
        for op in self.waiting.values():
            op.finish(rc)
        self.waiting.clear()
        self.noop = 0
        self.error = rc
        self.node.close()

    def write(self) -> None:
        try:
            self.sent += self.node.sock.send(self.out[self.sent:])
        except BlockingIOError:
            pass
        except OSError:
            self.fail(Rc.NETWORK_ERROR)

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
        for reply in replies:
            opaque = reply.opaque
            op = waiting.get(opaque)
            if op is None:
                if opaque == self.noop and self.noop:
                    self._end_quiet()
                continue
            if op.opcode == _STAT and reply.status == 0 and reply.key:
                if op.replies is None:
                    op.replies = []
                op.replies.append(reply)
                continue
            del waiting[opaque]
            op.rc = rc_for_status(reply.status)
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
                waits.append((fd, READ | WRITE if pipe.sent < len(pipe.out) else READ))
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
