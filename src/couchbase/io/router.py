"""The vBucket router: the current bucket config (an immutable snapshot swapped
atomically by the config thread), the node connections, and batch execution with
NOT_MY_VBUCKET re-routing inside the operation timeout."""
from __future__ import annotations

import logging
import threading
import time

from ..protocol import Opcode, vbucket_for_key
from ..protocol.vbucket import vbuckets_for_keys
from ..protocol.config import BucketConfig, ConfigError, parse_bucket_config
from .config_stream import ConfigStream
from .direct import round_trip
from .node import NodeConn
from .ops import Op
from .pipeline import NodePipe, run_pipes
from .quietget import Found, quiet_get
from .rc import ClientIOError, Rc
from .waiting import drive

log = logging.getLogger(__name__)

_NOT_MY_VBUCKET = Rc.NOT_MY_VBUCKET.value
#: Pauses between NOT_MY_VBUCKET retry rounds while waiting for a newer map.
RETRY_DELAYS = (0.0, 0.01, 0.02, 0.05, 0.1)


class Router:
    """Routes ops by vBucket to node connections and runs batches over them."""

    def __init__(self, stream_factory, timeout: float) -> None:
        self.config: BucketConfig | None = None
        self.timeout = timeout
        self.nodes: dict[tuple[str, int], NodeConn] = {}
        self._nodes_for: BucketConfig | None = None
        self._by_index: list[NodeConn] = []
        self._masters: list[int] = []
        self._one_node = False
        self._lock = threading.Lock()
        self.stream: ConfigStream = stream_factory(self.apply)

    def bootstrap(self) -> None:
        """Fetch the first config (raises :class:`ClientIOError` on failure)."""
        self.apply(self.stream.bootstrap())

    def apply(self, config: BucketConfig) -> bool:
        """Adopt ``config`` if it is newer than the current one (any thread)."""
        with self._lock:
            if not config.is_newer_than(self.config):
                return False
            self.config = config
        log.debug("bucket %r now at config rev %d", config.name, config.rev)
        return True

    def close(self) -> None:
        self.stream.close()
        for node in self.nodes.values():
            node.close()
        self.nodes.clear()

    def execute(self, ops: list[Op], timeout: float | None = None) -> None:
        """Run ``ops`` as one batch; every op ends with an rc (and the reply)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._round(ops, deadline)
        self._settle(ops, deadline)

    def execute_one(self, op: Op, timeout: float) -> None:
        """``execute`` for one vBucket-routed op: straight to its node's socket, the
        batch machinery only when the node needs (re)connecting, NOT_MY_VBUCKET asks
        for a new map, or the socket proved dead before the node saw the request
        (then the batch path reconnects and sends it once more)."""
        deadline = time.monotonic() + timeout
        if self.config is self._nodes_for:
            masters = self._masters
            vbucket = vbucket_for_key(op.key, len(masters))
            index = masters[vbucket]
            if index >= 0:
                node = self._by_index[index]
                if node.sock is not None:
                    if round_trip(node, op, vbucket, deadline):
                        if op.rc == _NOT_MY_VBUCKET:
                            self._settle([op], deadline)
                        return
                    log.debug("%s had closed the connection; resending %r once",
                              node.address, op.key)
        self._round([op], deadline)
        self._settle([op], deadline)

    def get_quiet(self, keys: list[bytes], timeout: float) -> Found:
        """Plain gets of ``keys`` on the quiet-get fast path (see ``quietget``), or
        None when the bucket spans several nodes or the node needs (re)connecting,
        leaving the batch to ``execute``."""
        if self.config is not self._nodes_for or not self._one_node:
            return None
        node = self._by_index[0]
        if not node.is_open():
            return None
        vbuckets = vbuckets_for_keys(keys, len(self._masters))
        return quiet_get(node, keys, vbuckets, time.monotonic() + timeout)

    def _settle(self, ops: list[Op], deadline: float) -> None:
        """Retry the ops a node refused with NOT_MY_VBUCKET under a newer map, until
        they land elsewhere or the deadline leaves no time."""
        todo = ops
        attempt = 0
        while True:
            retry = [op for op in todo if op.rc == _NOT_MY_VBUCKET and op.node is None]
            if not retry:
                return
            if not self._await_new_map(retry, deadline, attempt):
                return
            for op in retry:
                op.rc = -1
                op.reply = None
            self._round(retry, deadline)
            todo = retry
            attempt += 1

    def _await_new_map(self, retry: list[Op], deadline: float, attempt: int) -> bool:
        """After NOT_MY_VBUCKET: adopt a config from a reply body, or fetch one; False
        when the deadline leaves no time for another round."""
        before = self.config
        for op in retry:
            body = op.reply.value if op.reply is not None else b""
            if body[:1] == b"{":
                try:
                    self.apply(parse_bucket_config(body, op.server.rpartition(":")[0]))
                except ConfigError:
                    pass
        if self.config is before:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            fresh = self.stream.refresh(min(left, 1.0))
            if fresh is not None:
                self.apply(fresh)
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
        if time.monotonic() + delay >= deadline:
            return False
        if delay:
            time.sleep(delay)
        return True

    def _node(self, config: BucketConfig, index: int, deadline: float) -> NodeConn:
        node = self._by_index[index]
        if not node.is_open():
            user = None if config.name == "default" else config.name
            node.connect(user, config.sasl_password, max(deadline - time.monotonic(), 0.001))
        return node

    def _prune(self, config: BucketConfig) -> None:
        """Adopt ``config``'s node list: close dropped nodes, index the kept ones and
        precompute each vBucket's master."""
        alive = set(config.kv_nodes)
        for address in [a for a in self.nodes if a not in alive]:
            self.nodes.pop(address).close()
        nodes = self.nodes
        self._by_index = [nodes.get(a) or nodes.setdefault(a, NodeConn(*a))
                          for a in config.kv_nodes]
        self._masters = [row[0] for row in config.vbucket_map]
        self._one_node = len(self._by_index) == 1 and not any(self._masters)
        self._nodes_for = config

    @staticmethod
    def _assign(groups: dict[int, list[tuple[Op, int]]], op: Op, index: int, vbucket: int,
                nodes: int) -> None:
        """Queue ``op`` for node ``index``, or finish it NOT_MY_VBUCKET if there is none."""
        if index < 0 or index >= nodes:
            op.finish(Rc.NOT_MY_VBUCKET)
            return
        group = groups.get(index)
        if group is None:
            group = groups[index] = []
        group.append((op, vbucket))

    def _round(self, ops: list[Op], deadline: float) -> None:
        config = self.config
        if config is None:
            raise ClientIOError(Rc.EBADHANDLE, "connection has no bucket configuration")
        if self._nodes_for is not config:
            self._prune(config)
        masters = self._masters
        nodes = len(self._by_index)
        vbuckets = vbuckets_for_keys([op.key for op in ops], len(masters))
        pinned = [op for op in ops if op.node is not None]
        groups: dict[int, list[tuple[Op, int]]] = {}
        if self._one_node and not pinned:
            groups[0] = list(zip(ops, vbuckets))
        else:
            for op, vb in zip(ops, vbuckets):
                if op.node is None:
                    self._assign(groups, op, masters[vb], vb, nodes)
                else:
                    vb = 0 if op.opcode in (Opcode.STAT, Opcode.OBSERVE) else vb
                    self._assign(groups, op, op.node, vb, nodes)
        pipes = []
        for index, group in groups.items():
            try:
                node = self._node(config, index, deadline)
            except ClientIOError as exc:
                log.debug("node %s unavailable: %s", config.kv_nodes[index], exc)
                rc = Rc.NETWORK_ERROR if exc.rc == Rc.CONNECT_ERROR else exc.rc
                for op, _ in group:
                    op.finish(rc)
                continue
            pipes.append(NodePipe(node, group))
        if not pipes:
            return
        if not drive(run_pipes(pipes), deadline):
            for pipe in pipes:
                if not pipe.done:
                    pipe.fail(Rc.ETIMEDOUT)
