"""SASL mechanism arithmetic shared by client and server: PLAIN, CRAM-MD5 and
SCRAM-SHA1/256/512 (protocol.md 1.4, 6.3). No I/O; callers carry the messages."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCRAM_HASHES = {"SCRAM-SHA512": "sha512", "SCRAM-SHA256": "sha256", "SCRAM-SHA1": "sha1"}


class SaslError(ValueError):
    """A SASL message that cannot be parsed or a proof that does not verify."""


def plain_message(user: str, password: str, authzid: str = "") -> bytes:
    return f"{authzid}\0{user}\0{password}".encode()


def parse_plain(data: bytes) -> tuple[str, str]:
    """(user, password) from a PLAIN message."""
    parts = data.split(b"\0")
    if len(parts) != 3:
        raise SaslError("PLAIN message must be authzid NUL user NUL password")
    try:
        return parts[1].decode(), parts[2].decode()
    except UnicodeDecodeError:
        raise SaslError("PLAIN credentials are not UTF-8") from None


def cram_md5_challenge() -> bytes:
    """16 hex characters (8 random bytes), as the 2.x cbsasl server sent."""
    return os.urandom(8).hex().encode()


def cram_md5_response(user: str, password: str, challenge: bytes) -> bytes:
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return f"{user} {digest}".encode()


def cram_md5_verify(response: bytes, challenge: bytes, lookup_password) -> str:
    """Check a CRAM-MD5 response; ``lookup_password(user)`` returns the password or None.
    Returns the authenticated user name or raises :class:`SaslError`."""
    try:
        user, digest = response.decode().rsplit(" ", 1)
    except (UnicodeDecodeError, ValueError):
        raise SaslError("CRAM-MD5 response must be 'user hexdigest'") from None
    password = lookup_password(user)
    if password is None:
        raise SaslError(f"unknown user {user!r}")
    expected = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        raise SaslError(f"bad CRAM-MD5 digest for user {user!r}")
    return user


def _scram_escape(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _scram_unescape(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")


def _attrs(message: str) -> dict[str, str]:
    out = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise SaslError(f"malformed SCRAM attribute {part!r}")
        out[part[0]] = part[2:]
    return out


def _salted(hash_name: str, password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac(hash_name, password.encode(), salt, iterations)


def _hmac(hash_name: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hash_name).digest()


class ScramClient:
    """Client side of SCRAM: ``first()``, then ``final(server_first)``, then
    ``verify(server_final)``."""

    def __init__(self, mechanism: str, user: str, password: str, nonce: str | None = None) -> None:
        if mechanism not in SCRAM_HASHES:
            raise SaslError(f"unsupported mechanism {mechanism}")
        self.hash = SCRAM_HASHES[mechanism]
        self.user = user
        self.password = password
        self.nonce = nonce or os.urandom(8).hex()
        self._first_bare = f"n={_scram_escape(user)},r={self.nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self._first_bare).encode()

    def final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        attrs = _attrs(text)
        if not attrs.get("r", "").startswith(self.nonce):
            raise SaslError("server nonce does not extend the client nonce")
        salt = base64.b64decode(attrs["s"])
        salted = _salted(self.hash, self.password, salt, int(attrs["i"]))
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self._first_bare},{text},{without_proof}".encode()
        client_key = _hmac(self.hash, salted, b"Client Key")
        stored_key = hashlib.new(self.hash, client_key).digest()
        signature = _hmac(self.hash, stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = _hmac(self.hash, salted, b"Server Key")
        self._server_signature = _hmac(self.hash, server_key, auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        attrs = _attrs(server_final.decode())
        if base64.b64decode(attrs.get("v", "")) != self._server_signature:
            raise SaslError("server signature does not verify")


class ScramServer:
    """Server side of SCRAM: ``first(client_first, lookup_password)`` returns the
    server-first message; ``final(client_final)`` returns the server-final message
    or raises :class:`SaslError` for a bad proof."""

    def __init__(self, mechanism: str, iterations: int = 4096) -> None:
        if mechanism not in SCRAM_HASHES:
            raise SaslError(f"unsupported mechanism {mechanism}")
        self.hash = SCRAM_HASHES[mechanism]
        self.iterations = iterations
        self.user = ""
        self._salted = b""
        self._first_bare = ""
        self._server_first = ""
        self._nonce = ""

    def first(self, client_first: bytes, lookup_password) -> bytes:
        try:
            text = client_first.decode()
        except UnicodeDecodeError:
            raise SaslError("SCRAM client-first is not UTF-8") from None
        gs2, sep, bare = text.partition(",")
        authzid, sep2, bare = bare.partition(",")
        if not sep or not sep2 or gs2 not in ("n", "y"):
            raise SaslError("SCRAM client-first lacks the GS2 header")
        attrs = _attrs(bare)
        if "n" not in attrs or "r" not in attrs:
            raise SaslError("SCRAM client-first needs n= and r=")
        self.user = _scram_unescape(attrs["n"])
        password = lookup_password(self.user)
        salt = hashlib.sha256(b"cbserver-salt:" + self.user.encode()).digest()[:16]
        # An unknown user still gets a well-formed challenge; the proof fails later.
        self._salted = _salted(self.hash, password if password is not None else os.urandom(16).hex(),
                               salt, self.iterations)
        self._first_bare = bare
        self._nonce = attrs["r"] + os.urandom(12).hex()
        self._server_first = (f"r={self._nonce},s={base64.b64encode(salt).decode()},"
                              f"i={self.iterations}")
        return self._server_first.encode()

    def final(self, client_final: bytes) -> bytes:
        try:
            text = client_final.decode()
        except UnicodeDecodeError:
            raise SaslError("SCRAM client-final is not UTF-8") from None
        without_proof, sep, proof_part = text.rpartition(",p=")
        if not sep:
            raise SaslError("SCRAM client-final has no proof")
        attrs = _attrs(without_proof)
        if attrs.get("r") != self._nonce:
            raise SaslError("SCRAM nonce mismatch")
        auth_message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        client_key_expected = _hmac(self.hash, self._salted, b"Client Key")
        stored_key = hashlib.new(self.hash, client_key_expected).digest()
        signature = _hmac(self.hash, stored_key, auth_message)
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise SaslError("SCRAM proof is not base64") from None
        if len(proof) != len(signature):
            raise SaslError("SCRAM proof has the wrong length")
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.new(self.hash, client_key).digest(), stored_key):
            raise SaslError(f"bad SCRAM proof for user {self.user!r}")
        server_key = _hmac(self.hash, self._salted, b"Server Key")
        return b"v=" + base64.b64encode(_hmac(self.hash, server_key, auth_message))
