"""The plain multi-get fast path: N quiet gets (GETQ) and a closing NOOP written to
one node socket, and the reply buffer walked in one tight loop. Only hits answer a
GETQ, and reply ``i`` carries opaque ``base + i``, so replies map to keys by
arithmetic, with no per-key op objects or opaque tables.

Anything unusual (a reply other than a hit, the NOOP or a miss) makes the batch
report itself unhandled after the stream is back in step, so the caller can run
it again on the general pipeline, which owns every other rule."""
from __future__ import annotations

import select
import time

from ..protocol import Magic, Opcode
from ..protocol.decoder import DEFAULT_MAX_BODY
from ..protocol.replies import HEADER, pack_request
from .node import NodeConn
from .rc import Rc

_RECV_SIZE = 256 * 1024
_HEADER_LEN = HEADER.size
_REQUEST = Magic.REQUEST.value
_RESPONSE = Magic.RESPONSE.value
_GETQ = Opcode.GETQ.value
_NOOP = Opcode.NOOP.value
_MASK = 0xFFFFFFFF
_POLL_IN = select.POLLIN | select.POLLPRI
_monotonic = time.monotonic
#: A hit: (cas, flags extras, value bytes).
Hit = tuple[int, bytes, bytes]
#: What ``quiet_get`` found: one entry per key, None for a miss; and the rc of every
#: key without a hit (KEY_ENOENT, or the failure that cut the batch short). None as a
#: whole: the node answered something only the general path can interpret.
Found = tuple[list[Hit | None], int] | None


def encode_quiet_gets(keys: list[bytes], vbuckets: list[int], base: int) -> bytes:
    """Wire bytes of a GETQ per key (opaque ``base + index``) and the closing NOOP
    (opaque ``base + len(keys)``, which must fit in 32 bits)."""
    pack = HEADER.pack
    parts = [pack(_REQUEST, _GETQ, len(key), 0, 0, vbucket, len(key), opaque, 0) + key
             for opaque, key, vbucket in zip(range(base, base + len(keys)), keys, vbuckets)]
    parts.append(pack_request(_NOOP, b"", b"", b"", 0, base + len(keys), 0))
    return b"".join(parts)


def quiet_get(node: NodeConn, keys: list[bytes], vbuckets: list[int],
              deadline: float) -> Found:
    """Fetch ``keys`` from the open ``node`` in one pipelined burst.

    On timeout or a broken connection the node is closed and every key not yet
    answered gets ETIMEDOUT or NETWORK_ERROR, as on the general path.
    """
    total = len(keys)
    base = node.opaque + 1
    if base + total > _MASK:
        base = 1
    noop = base + total
    node.opaque = noop
    out = memoryview(encode_quiet_gets(keys, vbuckets, base))
    found: list[Hit | None] = [None] * total
    sock = node.sock
    try:
        sent = sock.send(out)
    except BlockingIOError:
        sent = 0
    except OSError:
        node.close()
        return found, Rc.NETWORK_ERROR
    poller = node.poller if sent == len(out) else _write_poller(node)
    unpack = HEADER.unpack_from
    buf = node.rbuf
    pos = 0
    clean = True
    while True:
        end = len(buf)
        while end - pos >= _HEADER_LEN:
            magic, _, klen, elen, _, status, blen, opaque, cas = unpack(buf, pos)
            stop = pos + _HEADER_LEN + blen
            if magic != _RESPONSE or elen + klen > blen or blen > DEFAULT_MAX_BODY:
                node.close()
                return found, Rc.PROTOCOL_ERROR
            if stop > end:
                break
            index = opaque - base
            if 0 <= index < total and status == 0:
                e0 = pos + _HEADER_LEN
                v0 = e0 + elen + klen
                found[index] = (cas, buf[e0:e0 + elen], buf[v0:stop])
            elif opaque == noop:
                node.rbuf = buf[stop:] if stop < end else b""
                return (found, Rc.KEY_ENOENT) if clean else None
            else:
                clean = False
            pos = stop
        if pos:
            buf = buf[pos:]
            pos = 0
        left = deadline - _monotonic()
        if left <= 0:
            node.close()
            return found, Rc.ETIMEDOUT
        events = poller.poll(left * 1000.0 + 1)
        if not events:
            continue
        if sent < len(out):
            try:
                sent += sock.send(out[sent:])
            except BlockingIOError:
                pass
            except OSError:
                node.close()
                return found, Rc.NETWORK_ERROR
            if sent == len(out):
                poller = node.poller
        try:
            data = sock.recv(_RECV_SIZE)
        except BlockingIOError:
            continue
        except OSError:
            node.close()
            return found, Rc.NETWORK_ERROR
        if not data:
            node.close()
            return found, Rc.NETWORK_ERROR
        buf = buf + data if buf else data


def _write_poller(node: NodeConn) -> select.poll:
    """A poller for a burst the socket did not take at once: input or room to write."""
    poller = select.poll()
    poller.register(node.sock.fileno(), _POLL_IN | select.POLLOUT)
    return poller
