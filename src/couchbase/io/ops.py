"""The unit of work the API layer hands to the I/O layer: one request, one outcome."""
from __future__ import annotations

from ..protocol.frames import Frame
from .rc import Rc

#: Sentinel rc of an op that has not completed yet.
PENDING = -1


class Op:
    """A request to send (``opcode``, ``key``, extras, value, cas) and, after the
    batch ran, its outcome: ``rc`` (lcb code) and the reply ``frame``.

    ``node`` None routes by the key's vBucket master; an int pins the op to that
    index of the config's server list (stats, observe replicas). STAT ops collect
    every reply frame in ``frames``.
    """

    __slots__ = ("opcode", "key", "extras", "value", "cas", "node", "rc", "frame", "frames",
                 "server")

    def __init__(self, opcode: int, key: bytes, extras: bytes = b"", value: bytes = b"",
                 cas: int = 0, node: int | None = None) -> None:
        self.opcode = opcode
        self.key = key
        self.extras = extras
        self.value = value
        self.cas = cas
        self.node = node
        self.rc = PENDING
        self.frame: Frame | None = None
        self.frames: list[Frame] | None = None
        self.server = ""

    def finish(self, rc: int, frame: Frame | None = None) -> None:
        self.rc = rc
        self.frame = frame

    @property
    def done(self) -> bool:
        return self.rc != PENDING

    def __repr__(self) -> str:
        return f"Op(opcode=0x{self.opcode:02x}, key={self.key!r}, rc={Rc(self.rc).name if self.rc >= 0 else 'PENDING'})"
