"""Builders of the 2.x cluster and bucket configuration JSON (protocol.md 5 and 8).

Full forms carry real host names; terse forms (CCCP, ``/b/``, ``/bs/``) keep the literal
``$HOST`` placeholder that clients replace with the address they dialled.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cbserver.engine import Bucket

if TYPE_CHECKING:
    from cbserver.server import Server

HOST_PLACEHOLDER = "$HOST"
IMPLEMENTATION_VERSION = "2.5.1-1083-rel-community"
CLUSTER_COMPATIBILITY = 0x20005
#: Terse-config capabilities that tell modern SDKs this node answers HELLO and CCCP and that
#: ``nodesExt`` describes its services.
MODERN_CAPABILITIES = ("cbhello", "cccp", "nodesExt")


def _is_memcached(bucket: Bucket) -> bool:
    return bucket.settings.bucket_type == "memcached"


def _bucket_uri(bucket: Bucket) -> str:
    return f"/pools/default/buckets/{bucket.name}?bucket_uuid={bucket.settings.uuid}"


def vbucket_server_map(server: "Server", bucket: Bucket, host: str) -> dict[str, Any]:
    """The vBucketServerMap: every vBucket active on this single node."""
    replicas = bucket.settings.replica_number
    row = [0] + [-1] * replicas
    return {
        "hashAlgorithm": "CRC",
        "numReplicas": replicas,
        "serverList": [f"{host}:{server.kv_port}"],
        "vBucketMap": [list(row) for _ in range(bucket.num_vbuckets)],
    }


def node_entry(server: "Server", host: str, bucket: Bucket | None, full: bool) -> dict[str, Any]:
    """One entry of ``nodes``: hostname, ports and ``couchApiBase``; status fields when full."""
    node: dict[str, Any] = {
        "couchApiBase": f"http://{host}:{server.views_port}/{bucket.name if bucket is not None else ''}",
        "hostname": f"{host}:{server.rest_port}",
        "ports": {"proxy": server.proxy_port, "direct": server.kv_port},
    }
    if not full:
        return node
    used = sum(b.mem_used for b in server.buckets.values())
    node.update({
        "replication": 0 if bucket is None else 1,
        "clusterMembership": "active",
        "status": server.node_status,
        "otpNode": f"ns_1@{host}",
        "thisNode": True,
        "clusterCompatibility": CLUSTER_COMPATIBILITY,
        "version": IMPLEMENTATION_VERSION,
        "os": os.uname().sysname.lower() if hasattr(os, "uname") else "unknown",
        "uptime": str(int(server.uptime)),
        "memoryTotal": server.memory_total,
        "memoryFree": max(server.memory_total - used, 0),
        "mcdMemoryReserved": server.memory_total // (1024 * 1024),
        "mcdMemoryAllocated": server.memory_total // (1024 * 1024),
        "systemStats": {"cpu_utilization_rate": 0, "swap_total": 0, "swap_used": 0},
        "interestingStats": {
            "curr_items": sum(len(b) for b in server.buckets.values()),
            "mem_used": used,
        },
        "services": ["kv"],
    })
    return node


def full_bucket_config(server: "Server", bucket: Bucket, host: str,
                       show_password: bool) -> dict[str, Any]:
    """``/pools/default/buckets/<b>`` (and the streaming form) with real host names."""
    settings = bucket.settings
    name = bucket.name
    base = f"/pools/default/buckets/{name}"
    controllers = {
        "compactAll": f"{base}/controller/compactBucket",
        "compactDB": f"{base}/controller/compactDatabases",
        "purgeDeletes": f"{base}/controller/unsafePurgeBucket",
        "startRecovery": f"{base}/controller/startRecovery",
    }
    if settings.flush_enabled:
        controllers["flush"] = f"{base}/controller/doFlush"
    config: dict[str, Any] = {
        "name": name,
        "bucketType": settings.bucket_type,
        "authType": settings.auth_type,
        "saslPassword": settings.password if show_password else "",
        "proxyPort": settings.proxy_port,
        "replicaIndex": False,
        "uri": _bucket_uri(bucket),
        "streamingUri": f"/pools/default/bucketsStreaming/{name}?bucket_uuid={settings.uuid}",
        "localRandomKeyUri": f"{base}/localRandomKey",
        "controllers": controllers,
        "nodes": [node_entry(server, host, bucket, full=True)],
        "stats": {
            "uri": f"{base}/stats",
            "directoryURI": f"{base}/statsDirectory",
            "nodeStatsListURI": f"/pools/default/buckets/{name}/nodes",
        },
        "ddocs": {"uri": f"{base}/ddocs"},
        "nodeLocator": "ketama" if _is_memcached(bucket) else "vbucket",
        "fastWarmupSettings": False,
        "autoCompactionSettings": False,
        "uuid": settings.uuid,
        "replicaNumber": settings.replica_number,
        "threadsNumber": 3,
        "quota": {"ram": settings.ram_quota, "rawRAM": settings.ram_quota},
        "basicStats": {
            "quotaPercentUsed": 100.0 * bucket.mem_used / settings.ram_quota,
            "opsPerSec": 0,
            "diskFetches": 0,
            "itemCount": len(bucket),
            "diskUsed": 0,
            "dataUsed": 0,
            "memUsed": bucket.mem_used,
        },
        "evictionPolicy": "valueOnly",
        "conflictResolutionType": "seqno",
        "bucketCapabilitiesVer": "",
        "bucketCapabilities": ["touch", "couchapi"] if not _is_memcached(bucket) else [],
        "rev": server.rev,
    }
    if not _is_memcached(bucket):
        config["vBucketServerMap"] = vbucket_server_map(server, bucket, host)
    return config


def terse_bucket_config(server: "Server", bucket: Bucket) -> dict[str, Any]:
    """The terse config of ``/b/``, ``/bs/`` and CCCP, with ``$HOST`` placeholders."""
    settings = bucket.settings
    host = HOST_PLACEHOLDER
    config: dict[str, Any] = {
        "rev": server.rev,
        "name": bucket.name,
        "uri": _bucket_uri(bucket),
        "streamingUri": f"/pools/default/bucketsStreaming/{bucket.name}?bucket_uuid={settings.uuid}",
        "nodes": [node_entry(server, host, bucket, full=False)],
        "nodesExt": [this_node_ext(server)],
        "nodeLocator": "ketama" if _is_memcached(bucket) else "vbucket",
        "uuid": settings.uuid,
        "bucketCapabilitiesVer": "",
        "bucketCapabilities": (["touch", "couchapi", *MODERN_CAPABILITIES]
                               if not _is_memcached(bucket) else list(MODERN_CAPABILITIES)),
        "ddocs": {"uri": f"/pools/default/buckets/{bucket.name}/ddocs"},
        "revEpoch": server.rev_epoch,
    }
    if not _is_memcached(bucket):
        config["vBucketServerMap"] = vbucket_server_map(server, bucket, host)
    return config


def this_node_ext(server: "Server") -> dict[str, Any]:
    """The ``nodesExt`` entry of this node; no hostname, so clients keep the one they dialled."""
    return {
        "services": {"mgmt": server.rest_port, "kv": server.kv_port, "capi": server.views_port},
        "thisNode": True,
    }


def global_config(server: "Server") -> dict[str, Any]:
    """The bucket-less (GCCCP) config modern SDKs fetch before opening a bucket."""
    return {
        "rev": server.rev,
        "revEpoch": server.rev_epoch,
        "nodesExt": [this_node_ext(server)],
        "clusterCapabilitiesVer": [1, 0],
        "clusterCapabilities": {},
        "clusterUUID": server.uuid,
        "clusterName": "",
    }


def pools(server: "Server", is_admin: bool) -> dict[str, Any]:
    """``GET /pools``."""
    return {
        "pools": [{
            "name": "default",
            "uri": f"/pools/default?uuid={server.uuid}",
            "streamingUri": f"/poolsStreaming/default?uuid={server.uuid}",
        }],
        "isAdminCreds": is_admin,
        "isROAdminCreds": False,
        "isEnterprise": False,
        "settings": {"maxParallelIndexers": "/settings/maxParallelIndexers",
                     "viewUpdateDaemon": "/settings/viewUpdateDaemon"},
        "uuid": server.uuid,
        "implementationVersion": IMPLEMENTATION_VERSION,
        "componentsVersion": {"ns_server": IMPLEMENTATION_VERSION, "cbserver": server.version},
    }


def pools_default(server: "Server", host: str) -> dict[str, Any]:
    """``GET /pools/default``: the cluster with its single node and the bucket links."""
    used = sum(b.mem_used for b in server.buckets.values())
    quota = sum(b.settings.ram_quota for b in server.buckets.values())
    return {
        "name": "default",
        "nodes": [node_entry(server, host, None, full=True)],
        "buckets": {
            "uri": f"/pools/default/buckets?v={server.rev}&uuid={server.uuid}",
            "terseBucketsBase": "/pools/default/b/",
            "terseStreamingBucketsBase": "/pools/default/bs/",
        },
        "controllers": {
            "addNode": {"uri": "/controller/addNode"},
            "rebalance": {"uri": "/controller/rebalance"},
        },
        "rebalanceStatus": "none",
        "rebalanceProgressUri": "/pools/default/rebalanceProgress",
        "maxBucketCount": 10,
        "autoCompactionSettings": {"parallelDBAndViewCompaction": False},
        "tasks": {"uri": f"/pools/default/tasks?v={server.rev}"},
        "counters": {},
        "dataStorage": (server.storage.to_json() if server.storage is not None
                        else {"dataDir": None, "status": "ephemeral", "issues": []}),
        "storageTotals": {
            "ram": {"total": server.memory_total, "quotaTotal": quota, "quotaUsed": quota,
                    "used": used, "usedByData": used},
            "hdd": {"total": 0, "quotaTotal": 0, "used": 0, "usedByData": 0, "free": 0},
        },
    }
