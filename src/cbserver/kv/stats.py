"""STAT: the default group and the groups 2.x clients and tools ask for."""
from __future__ import annotations

import os
import time
from collections.abc import Callable

from couchbase.protocol import MAX_VALUE_LEN, Frame, Status, encode_response

from cbserver.engine import Bucket
from cbserver.engine.bucket import DEFAULT_LOCK_SECONDS, ITEM_OVERHEAD, MAX_LOCK_SECONDS
from cbserver.process_memory import process_memory

from .responses import error
from .state import Session

Stats = list[tuple[str, object]]


def _default(session: Session, bucket: Bucket, arg: str) -> Stats:
    server = session.server
    now = time.time()
    stats: Stats = [
        ("pid", os.getpid()),
        ("uptime", int(now - server.started_at)),
        ("time", int(now)),
        ("version", server.version),
        ("pointer_size", 64),
        ("curr_connections", server.kv_connections),
        ("total_connections", server.kv_total_connections),
        ("curr_items", len(bucket)),
        ("curr_items_tot", len(bucket)),
        ("bytes", bucket.mem_used),
        ("limit_maxbytes", bucket.settings.ram_quota),
        ("ep_version", server.version),
        ("ep_max_size", bucket.settings.ram_quota),
        ("ep_item_num", len(bucket)),
        ("ep_total_cache_size", bucket.mem_used),
        ("mem_used", bucket.mem_used),
        ("vb_active_num", bucket.num_vbuckets),
        ("vb_replica_num", 0),
    ]
    stats.extend(bucket.statistics().items())
    stats.extend(server.persistence_stats(bucket).items())
    return stats


def _memory(session: Session, bucket: Bucket, arg: str) -> Stats:
    """The bucket's accounted bytes (what the quota is checked against), its disk queue
    and the whole process's real memory from /proc/self/statm."""
    quota = bucket.settings.ram_quota
    overhead = ITEM_OVERHEAD * len(bucket)
    process = process_memory()
    persistence = session.server.persistence_stats(bucket)
    return [
        ("mem_used", bucket.mem_used),
        ("bytes", bucket.mem_used),
        ("ep_max_size", quota),
        ("ep_mem_high_wat", quota * 85 // 100),
        ("ep_mem_low_wat", quota * 75 // 100),
        ("ep_kv_size", bucket.mem_used),
        ("ep_value_size", bucket.mem_used - overhead),
        ("ep_overhead", overhead),
        ("ep_diskqueue_memory", persistence.get("ep_diskqueue_memory", 0)),
        ("total_resident_bytes", process.resident),
        ("total_virtual_bytes", process.virtual),
        ("total_shared_bytes", process.shared),
    ]


def _settings(session: Session, bucket: Bucket, arg: str) -> Stats:
    return [
        ("maxbytes", bucket.settings.ram_quota),
        ("item_size_max", MAX_VALUE_LEN),
        ("num_vbuckets", bucket.num_vbuckets),
        ("getl_default_timeout", DEFAULT_LOCK_SECONDS),
        ("getl_max_timeout", MAX_LOCK_SECONDS),
        ("flush_enabled", str(bucket.settings.flush_enabled).lower()),
    ]


def _vbucket(session: Session, bucket: Bucket, arg: str) -> Stats:
    return [(f"vb_{vb}", "active") for vb in range(bucket.num_vbuckets)]


def _uuid(session: Session, bucket: Bucket, arg: str) -> Stats:
    return [("uuid", bucket.settings.uuid)]


def _key(session: Session, bucket: Bucket, arg: str) -> Stats | None:
    item = bucket.get(arg.encode())
    if item is None:
        return None
    state, _ = bucket.observe(item.key)
    return [
        ("key_is_dirty", "false" if state else "true"),
        ("key_exptime", item.expiry),
        ("key_flags", item.flags),
        ("key_cas", item.cas),
        ("key_vb_state", "active"),
    ]


def _empty(session: Session, bucket: Bucket, arg: str) -> Stats:
    return []


GROUPS: dict[str, Callable[[Session, Bucket, str], Stats | None]] = {
    "": _default,
    "memory": _memory,
    "settings": _settings,
    "config": _settings,
    "vbucket": _vbucket,
    "prev-vbucket": _vbucket,
    "uuid": _uuid,
    "key": _key,
    "vkey": _key,
    "tap": _empty,
    "dcp": _empty,
    "timings": _empty,
    "checkpoint": _empty,
}


def handle_stat(session: Session, frame: Frame, bucket: Bucket) -> bytes:
    """One reply per stat (key = name, value = ASCII), then an empty terminating reply."""
    if frame.extras:
        return error(frame, Status.EINVAL, "STAT takes no extras")
    try:
        request = frame.key.decode("ascii")
    except UnicodeDecodeError:
        return error(frame, Status.EINVAL, "STAT group name must be ASCII")
    group, _, arg = request.partition(" ")
    builder = GROUPS.get(group)
    if builder is None:
        return error(frame, Status.KEY_ENOENT, f"unknown stat group {group!r}")
    stats = builder(session, bucket, arg)
    if stats is None:
        return error(frame, Status.KEY_ENOENT, f"no stats for {request!r}")
    opcode, opaque = frame.opcode, frame.opaque
    parts = [encode_response(opcode, 0, name.encode(), value=str(value).encode(), opaque=opaque)
             for name, value in stats]
    parts.append(encode_response(opcode, 0, opaque=opaque))
    return b"".join(parts)
