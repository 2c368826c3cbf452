"""The unit of work the API layer hands to the I/O layer: one request, one outcome."""
from __future__ import annotations

from typing import Any

from ..protocol.replies import Reply
from .rc import Rc

#: Sentinel rc of an op that has not completed yet.
PENDING = -1


class Op:
    """A request to send (``opcode``, ``key``, extras, value, cas) and, after the
    batch ran, its outcome: ``rc`` (lcb code) and the server's ``reply``.

    ``node`` None routes by the key's vBucket master; an int pins the op to that
    index of the config's server list (stats, observe replicas). STAT ops collect
    every reply in ``replies``. ``tag`` is the caller's: the I/O layer never reads it.
    """

    __slots__ = ("opcode", "key", "extras", "value", "cas", "node", "rc", "reply", "replies",
                 "server", "tag")

    def __init__(self, opcode: int, key: bytes, extras: bytes = b"", value: bytes = b"",
                 cas: int = 0, node: int | None = None, tag: Any = None) -> None:
        self.opcode = opcode
        self.key = key
        self.extras = extras
        self.value = value
        self.cas = cas
        self.node = node
        self.tag = tag
        self.rc = PENDING
        self.reply: Reply | None = None
        self.replies: list[Reply] | None = None
        self.server = ""

    def finish(self, rc: int, reply: Reply | None = None) -> None:
        """Record the outcome (lcb ``rc`` and the reply, if one came)."""
        self.rc = rc
        self.reply = reply

    @property
    def done(self) -> bool:
        return self.rc != PENDING

    def __repr__(self) -> str:
        rc = Rc(self.rc).name if self.rc >= 0 else "PENDING"
        return f"Op(opcode=0x{self.opcode:02x}, key={self.key!r}, rc={rc})"
