"""The bootstrap host list: build lcb's ``"h1:p1;h2:p2"`` string from the 1.0
``host``/``port`` arguments and validate it as lcb 2.0 did (spec 13)."""
from __future__ import annotations

import string
from collections.abc import Sequence

from .rc import ClientIOError, Rc

_ALLOWED = frozenset(string.ascii_letters + string.digits + ".-_:")


def join_hosts(host: str | Sequence, port: int) -> str:
    """``host`` as a str, or a list of names / ``(name, port)`` pairs -> ``"h:p;h:p"``."""
    if isinstance(host, str):
        return f"{host}:{port}"
    parts = []
    for item in host:
        if isinstance(item, (tuple, list)):
            name, item_port = item
            parts.append(f"{name}:{item_port}")
        else:
            parts.append(f"{item}:{port}")
    return ";".join(parts)


def parse_hosts(spec: str, default_port: int = 8091) -> list[tuple[str, int]]:
    """Split a ``"h1:p1;h2"`` host string; a malformed one is INVALID_HOST_FORMAT."""
    out = []
    for entry in spec.split(";"):
        if not entry:
            continue
        bad = set(entry) - _ALLOWED
        if bad or entry.count(":") > 1:
            raise ClientIOError(Rc.INVALID_HOST_FORMAT,
                                f"invalid host string {spec!r}: bad entry {entry!r}")
        name, _, port = entry.partition(":")
        if not name or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
            raise ClientIOError(Rc.INVALID_HOST_FORMAT,
                                f"invalid host string {spec!r}: bad entry {entry!r}")
        out.append((name, int(port) if port else default_port))
    if not out:
        raise ClientIOError(Rc.INVALID_HOST_FORMAT, f"invalid host string {spec!r}: no host")
    return out
