"""Bucket configuration model (protocol.md 5): parse the ``vBucketServerMap`` JSON a
cluster streams, and split a streaming body into single configs. No I/O."""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from .vbucket import vbucket_for_key

#: lcb's CONFIG_DELIMITER: the streaming REST endpoint ends every config with it.
CONFIG_DELIMITER = b"\n\n\n\n"
HOST_PLACEHOLDER = "$HOST"


class ConfigError(ValueError):
    """A config body that is not a usable bucket configuration."""


@dataclass(frozen=True)
class BucketConfig:
    """One immutable revision of a bucket's topology: who owns which vBucket."""

    rev: int
    name: str
    sasl_password: str
    kv_nodes: tuple[tuple[str, int], ...]
    rest_nodes: tuple[str, ...]
    capi_bases: tuple[str, ...]
    vbucket_map: tuple[tuple[int, ...], ...]
    num_replicas: int
    raw: str

    @property
    def num_vbuckets(self) -> int:
        return len(self.vbucket_map)

    def vbucket_of(self, key: bytes) -> int:
        """vBucket id of ``key`` in this map."""
        return vbucket_for_key(key, len(self.vbucket_map))

    def master_of(self, vbucket: int) -> int:
        """Index in ``kv_nodes`` of the active copy of ``vbucket`` (-1 if none)."""
        return self.vbucket_map[vbucket][0]

    def replicas_of(self, vbucket: int) -> tuple[int, ...]:
        """Indexes in ``kv_nodes`` of the replicas of ``vbucket`` (missing ones skipped)."""
        return tuple(i for i in self.vbucket_map[vbucket][1:1 + self.num_replicas] if i >= 0)

    def is_newer_than(self, other: BucketConfig | None) -> bool:
        """True if this config should replace ``other``; configs without a ``rev``
        (2.0-era servers) replace any config whose text differs."""
        if other is None:
            return True
        if self.rev < 0 or other.rev < 0:
            return self.raw != other.raw
        return self.rev > other.rev


def _host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{what} entry {text!r} is not host:port")
    return host, int(port)


def _substitute(text: str, connected_host: str) -> str:
    return text.replace(HOST_PLACEHOLDER, connected_host)


def parse_bucket_config(data: bytes | str, connected_host: str = "localhost") -> BucketConfig:
    """Parse one bucket config; ``$HOST`` placeholders become ``connected_host``."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"bucket config is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError("bucket config is not a JSON object")
    vbmap = doc.get("vBucketServerMap")
    if not isinstance(vbmap, dict):
        raise ConfigError("bucket config has no vBucketServerMap (memcached buckets are not supported)")
    try:
        servers = tuple(_host_port(_substitute(s, connected_host), "serverList")
                        for s in vbmap["serverList"])
        table = tuple(tuple(int(i) for i in row) for row in vbmap["vBucketMap"])
        replicas = int(vbmap.get("numReplicas", 0))
        rev = int(doc.get("rev", -1))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"malformed vBucketServerMap: {exc!r}") from None
    if not table:
        raise ConfigError("vBucketMap is empty")
    for row in table:
        if not row or any(i >= len(servers) or i < -1 for i in row):
            raise ConfigError(f"vBucketMap row {list(row)} points outside serverList")
    nodes = doc.get("nodes") or []
    rest_nodes = tuple(_substitute(str(n.get("hostname", "")), connected_host)
                       for n in nodes if isinstance(n, dict) and n.get("hostname"))
    capi = tuple(_substitute(str(n["couchApiBase"]), connected_host)
                 for n in nodes if isinstance(n, dict) and n.get("couchApiBase"))
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return BucketConfig(rev=rev, name=str(doc.get("name", "")),
                        sasl_password=str(doc.get("saslPassword") or ""), kv_nodes=servers,
                        rest_nodes=rest_nodes, capi_bases=capi, vbucket_map=table,
                        num_replicas=replicas, raw=text)


def capi_host_port(base: str) -> tuple[str, int, str]:
    """(host, port, path prefix) of a ``couchApiBase`` URL such as ``http://h:8092/default``."""
    parts = urlsplit(base)
    if not parts.hostname:
        raise ConfigError(f"couchApiBase {base!r} has no host")
    return parts.hostname, parts.port or 8092, parts.path.rstrip("/")


class ConfigStreamSplitter:
    """Accumulates a streaming config body and returns each complete config."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add body bytes; return the configs completed by them (delimiter stripped)."""
        self._buf += data
        out = []
        while True:
            end = self._buf.find(CONFIG_DELIMITER)
            if end < 0:
                return out
            chunk = bytes(self._buf[:end]).strip()
            del self._buf[:end + len(CONFIG_DELIMITER)]
            if chunk:
                out.append(chunk)
