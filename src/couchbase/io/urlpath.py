"""libcouchbase's percent-encoding of HTTP request paths (sdk-1.0-api.md 13). No I/O.

Characters outside the unreserved and reserved URI sets are sent as ``%XX`` of their
UTF-8 bytes. Once the path shows it is already encoded (a ``%XX`` escape or a ``+``),
the rest is copied as is, and a character that is not legal in a URI is an error.
"""
from __future__ import annotations

import string

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_RESERVED = frozenset(":/?#[]@!$&'()*+,;=")
_ALLOWED = _UNRESERVED | _RESERVED
_HEX = frozenset(string.hexdigits)


class InvalidPathChar(ValueError):
    """A path holds a character that cannot be sent (illegal once encoded, or no UTF-8)."""

    def __init__(self, path: str, index: int) -> None:
        super().__init__(f"illegal character {path[index]!r} at offset {index} of the "
                         f"HTTP path {path!r}")
        self.path = path
        self.index = index


def _starts_escape(path: str, index: int) -> bool:
    """Whether ``path[index:]`` begins with a ``%XX`` escape."""
    return (path[index] == "%" and index + 2 < len(path)
            and path[index + 1] in _HEX and path[index + 2] in _HEX)


def encode_path(path: str) -> str:
    """Percent-encode ``path`` the way lcb 2.0 did; raises InvalidPathChar."""
    out: list[str] = []
    encoded = False
    for index, char in enumerate(path):
        if not encoded and (char == "+" or (char == "%" and _starts_escape(path, index))):
            encoded = True
        if encoded:
            if char not in _ALLOWED and char != "%":
                raise InvalidPathChar(path, index)
            out.append(char)
        elif char in _ALLOWED:
            out.append(char)
        else:
            try:
                raw = char.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidPathChar(path, index) from None
            out.extend(f"%{byte:02X}" for byte in raw)
    return "".join(out)
