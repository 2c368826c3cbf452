"""Opening TCP connections with lcb's error codes for the ways that fails."""
from __future__ import annotations

import socket

from .rc import ClientIOError, Rc


def open_tcp(host: str, port: int, timeout: float) -> socket.socket:
    """Connect with TCP_NODELAY; an unresolvable name is UNKNOWN_HOST, a refused,
    unreachable or silent address is CONNECT_ERROR (as lcb 2.0 reported them)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ClientIOError(Rc.UNKNOWN_HOST, f"cannot resolve host {host!r}: {exc}") from None
    last: OSError | None = None
    for family, kind, proto, _, addr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(addr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise ClientIOError(Rc.CONNECT_ERROR, f"cannot connect to {host}:{port}: {last}")
