"""``couchbase.connection.Connection``: the 1.0 bucket connection with every
key-value operation (sdk-1.0-api.md 3).

Every operation takes one path: validate the arguments, encode requests
(:class:`couchbase.io.ops.Op`), let the router group them by node and pipeline
them, then build the results and raise by the 1.0 rules. A single-key call is a
batch of one. Results and exceptions never reference the connection.
"""
from __future__ import annotations

import threading
import warnings
import weakref
from collections import deque
from typing import Any

from . import _libcouchbase as C
from ._args import cas_of, cas_value, key_items, ttl_value
from ._viewsapi import ViewsMixin
from .exceptions import ArgumentError, CouchbaseError, exc_from_kind, exc_from_rc
from .io.config_stream import ConfigStream
from .io.hosts import join_hosts, parse_hosts
from .io.ops import Op
from .io.rc import ClientIOError
from .io.router import Router
from .protocol import ARITH_NO_CREATE, Opcode
from .protocol.extras import (decode_observe_response, encode_observe_request, pack_arithmetic,
                              pack_store, pack_u32, unpack_u32, unpack_u64)
from ._resultbuild import (op_result, plain_results, quiet_get_results, single_result,
                           value_result)
from .result import Arguments, MultiResult, ObserveInfo, OperationResult, Result, ValueResult
from .transcoder import key_from_bytes, key_to_bytes, value_from_bytes, value_to_bytes

_CTOR_KWARGS = frozenset((
    "_errors", "_flags", "bucket", "username", "password", "host", "conncache", "quiet",
    "unlock_gil", "transcoder", "timeout", "default_format", "lockmode", "_conntype"))
_DEFAULT_TIMEOUT = 2.5
_STORE_OPS = {C.LCB_SET: Opcode.SET.value, C.LCB_ADD: Opcode.ADD.value,
              C.LCB_REPLACE: Opcode.REPLACE.value, C.LCB_APPEND: Opcode.APPEND.value,
              C.LCB_PREPEND: Opcode.PREPEND.value}
_CONCAT_MODES = frozenset((C.LCB_APPEND, C.LCB_PREPEND))
_VALUE_OPS = frozenset((Opcode.GET, Opcode.GAT, Opcode.GET_LOCKED))
_GET = Opcode.GET.value
_GAT = Opcode.GAT.value
_SET = Opcode.SET.value
#: Store extras of a JSON value without expiry: the common single ``set``.
_JSON_STORE = pack_store(C.FMT_JSON, 0)
_ARITH_OPS = frozenset((Opcode.INCREMENT, Opcode.DECREMENT))
_U64_MAX = 0xFFFFFFFFFFFFFFFF
#: Longest key the fast paths send; longer ones take the general path and its errors.
_MAX_KEY = 0xFFFF
_STR_ONLY = {str}


class _Batch:
    """The ops of one call and how to turn their replies into results."""

    __slots__ = ("ops", "quiet", "observe", "replicas")

    def __init__(self, quiet: bool = False, observe: bool = False) -> None:
        self.ops: list[Op] = []
        self.quiet = quiet
        self.observe = observe
        self.replicas: set[int] = set()


class Connection(ViewsMixin):
    """A connection to one bucket: key-value operations, views and design documents."""

    def __init__(self, **kwargs: Any) -> None:
        if getattr(self, "_initialized", False):
            raise RuntimeError("Connection.__init__ called twice")
        self._initialized = True
        self._router: Router | None = None
        port = kwargs.pop("port", 8091)
        no_connect_exc = kwargs.pop("_no_connect_exceptions", False)
        unknown = sorted(set(kwargs) - _CTOR_KWARGS)
        if unknown:
            inner = TypeError(f"'{unknown[0]}' is an invalid keyword argument for Connection")
            raise ArgumentError.pyexc("Bad arguments to Connection", obj=unknown[0], inner=inner)
        bucket = kwargs.get("bucket")
        if not bucket:
            raise ArgumentError.pyexc("A bucket name must be given")
        if not isinstance(bucket, str):
            raise ArgumentError.pyexc("bucket must be a string", obj=bucket)
        self._bucket = bucket
        username = kwargs.get("username")
        password = kwargs.get("password")
        if password and not username:
            username = bucket
        self._username = username
        self._password = password
        self._errors: deque = kwargs.get("_errors") or deque(maxlen=1000)
        self._conntype = kwargs.get("_conntype", C.LCB_TYPE_BUCKET)
        self._privflags = 0
        self._quiet = 0
        self.quiet = kwargs.get("quiet", False) or 0
        self._timeout_us = int(_DEFAULT_TIMEOUT * 1e6)
        timeout = kwargs.get("timeout")
        if timeout is not None:
            self.timeout = timeout
        self._default_format = C.FMT_JSON
        default_format = kwargs.get("default_format", C.FMT_JSON)
        if default_format is not None:
            self.default_format = default_format
        transcoder = kwargs.get("transcoder")
        if isinstance(transcoder, type):
            transcoder = transcoder()
        self._transcoder = transcoder or None
        self._data_passthrough = 0
        self._unlock_gil = 1 if kwargs.get("unlock_gil", True) else 0
        lockmode = kwargs.get("lockmode", C.LOCKMODE_EXC)
        if lockmode not in (C.LOCKMODE_NONE, C.LOCKMODE_EXC, C.LOCKMODE_WAIT):
            raise ArgumentError.pyexc("Invalid lockmode", obj=lockmode)
        self._lockmode = C.LOCKMODE_NONE if not self._unlock_gil else lockmode
        self._oplock = threading.Lock()
        self._conncache = kwargs.get("conncache")
        if self._conncache and self._conntype == C.LCB_TYPE_CLUSTER:
            raise ArgumentError.pyexc("conncache is not allowed for cluster connections")
        host = kwargs.get("host", "localhost")
        try:
            self._hosts = parse_hosts(join_hosts(host, port), port)
        except ClientIOError as exc:
            raise exc_from_rc(exc.rc, message=exc.message, obj=host) from None
        except (TypeError, ValueError) as exc:
            raise ArgumentError.pyexc("Bad host argument", obj=host, inner=exc) from None
        try:
            self._connect()
        except CouchbaseError as exc:
            self._errors.append((exc.rc, exc.message))
            if not no_connect_exc:
                raise

    def _connect(self) -> None:
        """Bootstrap over the streaming config REST endpoint (spec 13)."""
        if self._conntype != C.LCB_TYPE_BUCKET:
            return
        auth = (self._username, self._password) if self._username and self._password else None
        hosts, bucket, timeout, cache = self._hosts, self._bucket, self.timeout, self._conncache

        def stream(on_config):
            return ConfigStream(hosts, bucket, auth, timeout, on_config, cache)

        router = Router(stream, timeout)
        try:
            router.bootstrap()
        except ClientIOError as exc:
            router.close()
            raise exc_from_rc(exc.rc, message=exc.message) from None
        self._router = router
        weakref.finalize(self, router.close)

    # -- properties ------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        """Operation timeout in seconds (default 2.5)."""
        return self._timeout_us / 1e6

    @timeout.setter
    def timeout(self, value: Any) -> None:
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"timeout must be a number, not {type(value).__name__}")
        seconds = float(value)
        if seconds <= 0:
            raise ValueError(f"timeout must be positive, got {value!r}")
        self._timeout_us = int(seconds * 1e6)
        if self._router is not None:
            self._router.timeout = seconds

    @property
    def default_format(self) -> Any:
        """Format used by stores that pass no ``format``."""
        return self._default_format

    @default_format.setter
    def default_format(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArgumentError.pyexc("default_format must be a number", obj=value)
        self._default_format = value

    @property
    def transcoder(self) -> Any:
        """Custom transcoder object, or None for the built-in format rules."""
        return self._transcoder

    @transcoder.setter
    def transcoder(self, value: Any) -> None:
        self._transcoder = value or None

    @property
    def quiet(self) -> int:
        """When true, missing keys on get/touch/lock/delete do not raise."""
        return self._quiet

    @quiet.setter
    def quiet(self, value: Any) -> None:
        if not isinstance(value, int):
            raise TypeError(f"quiet must be an integer or bool, not {type(value).__name__}")
        self._quiet = 1 if value else 0

    @property
    def data_passthrough(self) -> int:
        """When true, values (and result keys) are returned as raw bytes."""
        return self._data_passthrough

    @data_passthrough.setter
    def data_passthrough(self, value: Any) -> None:
        if not isinstance(value, int):
            raise TypeError(f"data_passthrough must be an integer, not {type(value).__name__}")
        self._data_passthrough = 1 if value else 0

    @property
    def unlock_gil(self) -> int:
        return self._unlock_gil

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def lockmode(self) -> int:
        return self._lockmode

    @property
    def server_nodes(self) -> list[str]:
        """REST ``host:port`` of every node in the current config."""
        config = self._router.config if self._router is not None else None
        if config is not None and config.rest_nodes:
            return list(config.rest_nodes)
        return [f"{h}:{p}" for h, p in self._hosts]

    @property
    def _privflags(self) -> int:
        return self.__privflags

    @_privflags.setter
    def _privflags(self, value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise TypeError("_privflags must be an unsigned integer")
        self.__privflags = value

    @staticmethod
    def lcb_version() -> tuple[str, int]:
        """Version of the libcouchbase this client speaks like."""
        return ("2.0.7", 0x020007)

    def errors(self, clear_existing: bool = True) -> tuple:
        """Errors recorded by the connection as ``(rc, description)`` pairs."""
        out = tuple(self._errors)
        if clear_existing:
            self._errors.clear()
        return out

    def __repr__(self) -> str:
        return (f"<{type(self).__module__}.{type(self).__name__} bucket={self._bucket}, "
                f"nodes={self.server_nodes} at 0x{id(self):x}>")

    # -- thread locking ----------------------------------------------------------------

    def _thr_lockop(self, is_unlock: int) -> None:
        """Acquire (0) or release (1) the connection lock, as the C module allowed."""
        if self._lockmode == C.LOCKMODE_NONE:
            raise exc_from_kind(C.PYCBC_EXC_THREADING, "lockmode is LOCKMODE_NONE; no lock to use")
        if is_unlock:
            self._oplock.release()
        else:
            self._oplock.acquire()

    def _acquire(self) -> bool:
        mode = self._lockmode
        if mode == C.LOCKMODE_NONE:
            return False
        if mode == C.LOCKMODE_WAIT:
            self._oplock.acquire()
            return True
        if not self._oplock.acquire(False):
            raise exc_from_kind(
                C.PYCBC_EXC_THREADING,
                "Couldn't lock the connection: it is in use by another thread. Use a "
                "connection per thread, or pass lockmode=LOCKMODE_WAIT to share one")
        return True

    # -- the one operation path ----------------------------------------------------------

    def _key(self, key: Any) -> bytes:
        """Wire bytes of ``key``: plain str keys take the short way, the rest (and
        every error) the transcoder rules."""
        if self._transcoder is None and key.__class__ is str and key:
            try:
                return key.encode("utf-8")
            except UnicodeEncodeError:
                pass
        return key_to_bytes(self._transcoder, key)

    def _value(self, value: Any, format: Any, key: Any = None) -> tuple[bytes, int]:
        """(bytes, flags) of ``value`` in ``format``; ``key`` names it in errors."""
        if self._transcoder is None and format.__class__ is int and format == C.FMT_JSON:
            try:
                data = C._helpers["json_encode"](value)
                if data.__class__ is str:
                    return data.encode("utf-8"), C.FMT_JSON
            except Exception:
                pass
        return value_to_bytes(self._transcoder, value, format, key)

    def _run(self, batch: _Batch, single: bool) -> Any:
        """Execute a validated batch, build the results and raise by the 1.0 rules."""
        router = self._router
        if router is None:
            raise exc_from_rc(C.LCB_EBADHANDLE, message="KV operations need a bucket connection")
        locked = self._acquire()
        try:
            router.execute(batch.ops, self._timeout_us / 1e6)
        finally:
            if locked:
                self._oplock.release()
        if not batch.observe and self._transcoder is None and not self._data_passthrough:
            built = plain_results(batch.ops, batch.quiet)
            if built is not None:
                results, failed = built
                if failed is not None:
                    raise exc_from_rc(failed._rc, key=failed._key, result=failed,
                                      all_results=results)
                return next(iter(results.values())) if single else results
        return self._deliver(batch, single)

    def _run_one(self, op: Op, quiet: bool) -> Any:
        """``_run`` for a single routed key, without the batch bookkeeping."""
        router = self._router
        if router is None:
            raise exc_from_rc(C.LCB_EBADHANDLE, message="KV operations need a bucket connection")
        locked = self._acquire()
        try:
            router.execute_one(op, self._timeout_us / 1e6)
        finally:
            if locked:
                self._oplock.release()
        if self._transcoder is None and not self._data_passthrough:
            result = single_result(op)
            if result is not None:
                rc = result._rc
                if rc and not (quiet and rc == C.LCB_KEY_ENOENT):
                    results = MultiResult()
                    results[op.tag] = result
                    results._all_ok = 0
                    raise exc_from_rc(rc, key=op.tag, result=result, all_results=results)
                return result
        batch = _Batch(quiet)
        batch.ops.append(op)
        return self._deliver(batch, True)

    def _result_key(self, raw: bytes) -> Any:
        if self._data_passthrough:
            return raw
        return key_from_bytes(self._transcoder, raw)

    def _deliver(self, batch: _Batch, single: bool) -> Any:
        results = MultiResult()
        fatal: CouchbaseError | None = None
        failed: Result | None = None
        failed_key: Any = None
        seen: set = set()
        plain_keys = self._transcoder is None and not self._data_passthrough
        for op in batch.ops:
            if plain_keys and op.tag is not None:
                key = op.tag
            else:
                try:
                    key = self._result_key(op.key)
                except CouchbaseError as exc:
                    fatal = fatal or exc
                    key = op.key
            try:
                result = self._make_result(op, key, id(op) not in batch.replicas)
            except CouchbaseError as exc:
                fatal = fatal or exc
                result = ValueResult(key, op.rc) if op.opcode in _VALUE_OPS else \
                    OperationResult(key, op.rc)
            if batch.observe:
                previous = results.get(key)
                if previous is not None:
                    previous.value.extend(result.value)
                    if result.value and result.value[0].from_master:
                        previous._cas = result.cas
                    continue
            elif key in seen:
                self._warn_duplicate(key)
            seen.add(key)
            results[key] = result
            rc = result.rc
            if rc:
                results._all_ok = 0
                if failed is None and not (batch.quiet and rc == C.LCB_KEY_ENOENT):
                    failed, failed_key = result, key
        if fatal is not None:
            fatal.all_results = results
            raise fatal
        if failed is not None:
            raise exc_from_rc(failed.rc, key=failed_key, result=failed, all_results=results)
        if single:
            return next(iter(results.values()))
        return results

    def _warn_duplicate(self, key: Any) -> None:
        message = f"Found duplicate key {key!r} in a multi operation; only the last result is kept"
        if self._privflags & C.PYCBC_CONN_F_WARNEXPLICIT:
            warnings.warn_explicit(message, RuntimeWarning, __file__, 0)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _make_result(self, op: Op, key: Any, master: bool) -> Result:
        opcode = op.opcode
        reply = op.reply
        rc = op.rc
        if opcode in _VALUE_OPS:
            if rc or reply is None:
                return value_result(key, rc, 0, None, 0)
            extras = reply.extras
            flags = unpack_u32(extras, "flags") if len(extras) == 4 else 0
            if self._data_passthrough:
                value: Any = reply.value
            else:
                value = value_from_bytes(self._transcoder, reply.value, flags, key)
            return value_result(key, 0, reply.cas, value, flags)
        if opcode in _ARITH_OPS:
            if rc or reply is None:
                return value_result(key, rc, 0, None, 0)
            return value_result(key, 0, reply.cas, unpack_u64(reply.value, "counter"), 0)
        if opcode == Opcode.OBSERVE:
            return self._observe_result(op, key, master)
        cas = reply.cas if reply is not None and not rc and opcode != Opcode.UNLOCK_KEY else 0
        return op_result(key, rc, cas)

    @staticmethod
    def _observe_result(op: Op, key: Any, master: bool) -> ValueResult:
        if op.rc or op.reply is None:
            return ValueResult(key, op.rc, 0, [], 0)
        infos = [ObserveInfo(state, int(master), cas)
                 for _, _, state, cas in decode_observe_response(op.reply.value)]
        return ValueResult(key, 0, infos[0].cas if infos and master else 0, infos, 0)

    # -- storage ---------------------------------------------------------------------------

    def _store(self, mode: int, items: list[tuple[Any, Any]], ttl: Any, format: Any,
               cas: Any = 0, single: bool = True) -> Any:
        ttl = ttl_value(ttl)
        if mode in _CONCAT_MODES:
            if format is None:
                format = C.FMT_UTF8
            if self._transcoder is None and (
                    not isinstance(format, int) or not format & (C.FMT_UTF8 | C.FMT_BYTES)):
                raise ArgumentError.pyexc("append/prepend need FMT_UTF8 or FMT_BYTES", obj=format)
        elif format is None:
            format = self._default_format
        opcode = _STORE_OPS[mode]
        concat = mode in _CONCAT_MODES
        cas = cas_value(cas)
        to_bytes = self._key
        encode = self._value
        ops = []
        for key, value in items:
            item_cas, item_ttl = cas, ttl
            if isinstance(value, Arguments):
                opts = value
                value = opts.get("value")
                item_cas = cas_value(opts.get("cas", 0))
                item_ttl = ttl_value(opts.get("ttl", 0)) or ttl
            raw_key = to_bytes(key)
            data, flags = encode(value, format, key)
            ops.append(Op(opcode, raw_key, b"" if concat else pack_store(flags, item_ttl), data,
                          item_cas, tag=key))
        if single:
            return self._run_one(ops[0], False)
        batch = _Batch()
        batch.ops = ops
        return self._run(batch, single)

    def set(self, key: Any, value: Any, cas: int = 0, ttl: int = 0, format: Any = None) -> Any:
        """Store ``value`` under ``key`` unconditionally (or only at ``cas``)."""
        if (format is None and key.__class__ is str and key and cas.__class__ is int
                and not cas and ttl.__class__ is int and not ttl
                and self._default_format.__class__ is int
                and self._default_format == C.FMT_JSON and self._transcoder is None
                and not isinstance(value, Arguments)):
            try:
                raw = key.encode("utf-8")
            except UnicodeEncodeError:
                return self._store(C.LCB_SET, [(key, value)], ttl, format, cas)
            data, flags = self._value(value, C.FMT_JSON, key)
            extras = _JSON_STORE if flags == C.FMT_JSON else pack_store(flags, 0)
            return self._run_one(Op(_SET, raw, extras, data, 0, None, key), False)
        return self._store(C.LCB_SET, [(key, value)], ttl, format, cas)

    def add(self, key: Any, value: Any, ttl: int = 0, format: Any = None) -> Any:
        """Store ``value`` only if ``key`` does not exist yet."""
        return self._store(C.LCB_ADD, [(key, value)], ttl, format)

    def replace(self, key: Any, value: Any, cas: int = 0, ttl: int = 0,
                format: Any = None) -> Any:
        """Store ``value`` only if ``key`` already exists (and has ``cas``, if given)."""
        return self._store(C.LCB_REPLACE, [(key, value)], ttl, format, cas)

    def append(self, key: Any, value: Any, cas: int = 0, ttl: int = 0,
               format: Any = None) -> Any:
        """Append bytes/text to an existing value."""
        return self._store(C.LCB_APPEND, [(key, value)], ttl, format, cas)

    def prepend(self, key: Any, value: Any, cas: int = 0, ttl: int = 0,
                format: Any = None) -> Any:
        """Prepend bytes/text to an existing value."""
        return self._store(C.LCB_PREPEND, [(key, value)], ttl, format, cas)

    def set_multi(self, keys: dict, ttl: int = 0, format: Any = None) -> MultiResult:
        """``set`` every item of a ``{key: value}`` dict in one batch."""
        return self._store(C.LCB_SET, self._kv(keys), ttl, format, single=False)

    def add_multi(self, keys: dict, ttl: int = 0, format: Any = None) -> MultiResult:
        return self._store(C.LCB_ADD, self._kv(keys), ttl, format, single=False)

    def replace_multi(self, keys: dict, ttl: int = 0, format: Any = None) -> MultiResult:
        return self._store(C.LCB_REPLACE, self._kv(keys), ttl, format, single=False)

    def append_multi(self, keys: dict, ttl: int = 0, format: Any = None) -> MultiResult:
        return self._store(C.LCB_APPEND, self._kv(keys), ttl, format, single=False)

    def prepend_multi(self, keys: dict, ttl: int = 0, format: Any = None) -> MultiResult:
        return self._store(C.LCB_PREPEND, self._kv(keys), ttl, format, single=False)

    @staticmethod
    def _kv(keys: Any) -> list[tuple[Any, Any]]:
        return key_items(keys, dict_only=True)

    # -- retrieval, touch, lock --------------------------------------------------------------

    def _quiet_arg(self, quiet: Any) -> bool:
        return bool(self._quiet if quiet is None else quiet)

    def get(self, key: Any, ttl: int = 0, quiet: Any = None) -> Any:
        """Fetch ``key``; a ``ttl`` also touches it (get-and-touch)."""
        ttl = ttl_value(ttl)
        raw = self._key(key)
        op = Op(_GAT, raw, pack_u32(ttl), tag=key) if ttl else Op(_GET, raw, tag=key)
        return self._run_one(op, self._quiet_arg(quiet))

    def get_multi(self, keys: Any, ttl: int = 0, quiet: Any = None) -> MultiResult:
        """Fetch many keys in one round trip per node."""
        ttl = ttl_value(ttl)
        quiet = self._quiet_arg(quiet)
        if not ttl and (keys.__class__ is list or keys.__class__ is tuple):
            results = self._get_plain(keys, quiet)
            if results is not None:
                return results
        batch = _Batch(quiet=quiet)
        append = batch.ops.append
        to_bytes = self._key
        for key, opt in key_items(keys):
            if opt is None and not ttl:
                append(Op(_GET, to_bytes(key), b"", b"", 0, None, key))
                continue
            item_ttl = ttl if opt is None else self._per_key_ttl(opt, ttl)
            append(Op(_GAT, to_bytes(key), pack_u32(item_ttl), tag=key) if item_ttl
                   else Op(_GET, to_bytes(key), tag=key))
        return self._run(batch, False)

    def _get_plain(self, keys: list | tuple, quiet: bool) -> MultiResult | None:
        """``get_multi`` of distinct non-empty str keys on the quiet-get fast path;
        None (nothing sent, or nothing the general path cannot safely repeat) when
        the call needs the general path: other keys, a transcoder, passthrough, a
        multi-node bucket, a reconnect, an unusual reply or a non-JSON value."""
        router = self._router
        if router is None or self._transcoder is not None or self._data_passthrough:
            return None
        try:
            raw = [key.encode("utf-8") for key in keys]
        except (AttributeError, TypeError, UnicodeEncodeError):
            return None
        if (not raw or b"" in raw or max(map(len, raw)) > _MAX_KEY
                or set(map(type, keys)) != _STR_ONLY
                or len(set(keys)) != len(keys)):
            return None
        locked = self._acquire()
        try:
            got = router.get_quiet(raw, self._timeout_us / 1e6)
        finally:
            if locked:
                self._oplock.release()
        if got is None:
            return None
        built = quiet_get_results(keys, *got, quiet)
        if built is None:
            return None
        results, failed = built
        if failed is not None:
            raise exc_from_rc(failed._rc, key=failed._key, result=failed, all_results=results)
        return results

    @staticmethod
    def _per_key_ttl(opt: Any, ttl: int) -> int:
        if opt is None:
            return ttl
        item = ttl_value(opt.get("ttl", 0) if isinstance(opt, dict) else opt)
        if item and ttl:
            raise ArgumentError.pyexc("Both a global and a per-key ttl were given", obj=opt)
        return item or ttl

    def touch(self, key: Any, ttl: int = 0) -> Any:
        """Set a new expiration on ``key``."""
        ttl = ttl_value(ttl)
        return self._run_one(Op(Opcode.TOUCH, self._key(key), pack_u32(ttl), tag=key),
                             bool(self._quiet))

    def touch_multi(self, keys: Any, ttl: int = 0) -> MultiResult:
        """Touch many keys; a dict gives per-key TTLs."""
        ttl = ttl_value(ttl)
        batch = _Batch(quiet=bool(self._quiet))
        for key, opt in key_items(keys):
            batch.ops.append(Op(Opcode.TOUCH, self._key(key), pack_u32(self._per_key_ttl(opt, ttl)),
                                tag=key))
        return self._run(batch, False)

    def lock(self, key: Any, ttl: int = 0) -> Any:
        """Get and lock ``key`` for ``ttl`` seconds (mandatory)."""
        return self._lock_batch([(key, None)], ttl, True)

    def lock_multi(self, keys: Any, ttl: int = 0) -> MultiResult:
        """Lock many keys for ``ttl`` seconds."""
        return self._lock_batch(key_items(keys), ttl, False)

    def _lock_batch(self, items: list[tuple[Any, Any]], ttl: Any, single: bool) -> Any:
        ttl = ttl_value(ttl)
        batch = _Batch(quiet=bool(self._quiet))
        for key, opt in items:
            item_ttl = self._per_key_ttl(opt, ttl)
            if not item_ttl:
                raise ArgumentError.pyexc("Lock must have an expiry", obj=key)
            batch.ops.append(Op(Opcode.GET_LOCKED, self._key(key), pack_u32(item_ttl), tag=key))
        if single:
            return self._run_one(batch.ops[0], batch.quiet)
        return self._run(batch, single)

    def unlock(self, key: Any, cas: Any) -> Any:
        """Release a lock taken with ``lock``; ``cas`` is the lock's CAS (or its Result)."""
        return self._unlock_batch([(key, cas)], True)

    def unlock_multi(self, keys: Any) -> MultiResult:
        """Unlock ``{key: cas}`` items, or a sequence/MultiResult of lock Results."""
        if isinstance(keys, dict):
            items = list(keys.items())
        else:
            items = []
            for entry in key_items(keys):
                result = entry[0]
                if not isinstance(result, Result):
                    raise ArgumentError.pyexc("unlock_multi needs a dict of CAS values "
                                              "or Result objects", obj=result)
                items.append((result.key, result))
        if not items:
            raise ArgumentError.pyexc("Key list is empty", obj=keys)
        return self._unlock_batch(items, False)

    def _unlock_batch(self, items: list[tuple[Any, Any]], single: bool) -> Any:
        batch = _Batch()
        for key, spec in items:
            cas = cas_of(spec, key)
            if not cas:
                raise ArgumentError.pyexc("unlock needs the CAS of the lock", obj=key)
            batch.ops.append(Op(Opcode.UNLOCK_KEY, self._key(key), cas=cas, tag=key))
        if single:
            return self._run_one(batch.ops[0], False)
        return self._run(batch, single)

    # -- delete ----------------------------------------------------------------------------

    def delete(self, key: Any, cas: int = 0, quiet: Any = None) -> Any:
        """Remove ``key`` (only at ``cas``, if given)."""
        op = Op(Opcode.DELETE, self._key(key), cas=cas_of(cas, key), tag=key)
        return self._run_one(op, self._quiet_arg(quiet))

    def delete_multi(self, keys: Any, cas: Any = None, quiet: Any = None) -> MultiResult:
        """Remove many keys; a dict maps keys to CAS values or Results."""
        batch = _Batch(quiet=self._quiet_arg(quiet))
        for key, spec in key_items(keys):
            item_cas = cas_of(spec, key) if spec is not None else 0
            batch.ops.append(Op(Opcode.DELETE, self._key(key), cas=item_cas, tag=key))
        return self._run(batch, False)

    # -- arithmetic --------------------------------------------------------------------------

    def _arith_op(self, key: Any, delta: Any, initial: Any, ttl: Any) -> Op:
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise ArgumentError.pyexc("amount must be an integer", obj=delta)
        if abs(delta) > _U64_MAX:
            raise ArgumentError.pyexc("amount does not fit in 64 bits", obj=delta)
        ttl = ttl_value(ttl)
        if initial is None:
            start, expiry = 0, ARITH_NO_CREATE
        else:
            if isinstance(initial, bool) or not isinstance(initial, int) \
                    or not 0 <= initial <= _U64_MAX:
                raise ArgumentError.pyexc("initial must be an unsigned 64-bit integer", obj=initial)
            start, expiry = initial, ttl
        opcode = Opcode.DECREMENT if delta < 0 else Opcode.INCREMENT
        return Op(opcode, self._key(key), pack_arithmetic(abs(delta), start, expiry), tag=key)

    def arithmetic(self, key: Any, amount: int = 1, initial: Any = None, ttl: int = 0) -> Any:
        """Add the signed ``amount`` to a counter (created at ``initial`` if given)."""
        return self._run_one(self._arith_op(key, amount, initial, ttl), False)

    def incr(self, key: Any, amount: int = 1, initial: Any = None, ttl: int = 0) -> Any:
        """Increment a counter by ``amount``."""
        return self.arithmetic(key, self._amount(amount), initial, ttl)

    def decr(self, key: Any, amount: int = 1, initial: Any = None, ttl: int = 0) -> Any:
        """Decrement a counter by ``amount`` (never below zero)."""
        return self.arithmetic(key, -self._amount(amount), initial, ttl)

    @staticmethod
    def _amount(amount: Any) -> int:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ArgumentError.pyexc("amount must be an integer", obj=amount)
        return amount

    def arithmetic_multi(self, keys: Any, amount: int = 1, initial: Any = None,
                         ttl: int = 0) -> MultiResult:
        """``arithmetic`` on many keys; dict values may override the options."""
        return self._arith_multi(keys, amount, initial, ttl, 1)

    def incr_multi(self, keys: Any, amount: int = 1, initial: Any = None,
                   ttl: int = 0) -> MultiResult:
        return self._arith_multi(keys, self._amount(amount), initial, ttl, 1)

    def decr_multi(self, keys: Any, amount: int = 1, initial: Any = None,
                   ttl: int = 0) -> MultiResult:
        return self._arith_multi(keys, self._amount(amount), initial, ttl, -1)

    def _arith_multi(self, keys: Any, amount: int, initial: Any, ttl: Any,
                     sign: int) -> MultiResult:
        ttl_value(ttl)
        batch = _Batch()
        for key, opt in key_items(keys):
            delta, item_initial, item_ttl = amount, initial, ttl
            if isinstance(opt, dict):
                if "delta" not in opt:
                    raise ArgumentError.pyexc("arithmetic options need a 'delta'", obj=key)
                delta = opt["delta"]
                item_initial = opt.get("initial", initial)
                item_ttl = opt.get("ttl", ttl)
            elif opt is not None:
                delta = opt
            if isinstance(delta, bool) or not isinstance(delta, int):
                raise ArgumentError.pyexc("amount must be an integer", obj=delta)
            batch.ops.append(self._arith_op(key, sign * delta, item_initial, item_ttl))
        return self._run(batch, False)

    # -- observe and stats -------------------------------------------------------------------

    def observe(self, key: Any) -> Any:
        """Where ``key`` stands on its master and replicas (a list of ObserveInfo)."""
        return self._observe([(key, None)], True)

    def observe_multi(self, keys: Any) -> MultiResult:
        return self._observe(key_items(keys), False)

    def _observe(self, items: list[tuple[Any, Any]], single: bool) -> Any:
        router = self._router
        if router is None or router.config is None:
            raise exc_from_rc(C.LCB_EBADHANDLE, message="KV operations need a bucket connection")
        config = router.config
        batch = _Batch(observe=True)
        for key, _ in items:
            raw = self._key(key)
            vb = config.vbucket_of(raw)
            value = encode_observe_request([(vb, raw)])
            master = config.master_of(vb)
            batch.ops.append(Op(Opcode.OBSERVE, raw, value=value, node=master, tag=key))
            for replica in config.replicas_of(vb):
                op = Op(Opcode.OBSERVE, raw, value=value, node=replica, tag=key)
                batch.replicas.add(id(op))
                batch.ops.append(op)
        return self._run(batch, single)

    def stats(self, keys: Any = None) -> MultiResult:
        """Server statistics ``{name: {"host:port": value}}`` for each requested group."""
        return self._stats(keys)

    def _stats(self, keys: Any = None) -> MultiResult:
        router = self._router
        if router is None or router.config is None:
            raise exc_from_rc(C.LCB_EBADHANDLE, message="KV operations need a bucket connection")
        if keys is None:
            groups = [b""]
        else:
            if isinstance(keys, str):
                keys = (keys,)
            groups = [self._key(k) for k, _ in key_items(keys)]
        ops = [Op(Opcode.STAT, group, node=index)
               for group in groups for index in range(len(router.config.kv_nodes))]
        locked = self._acquire()
        try:
            router.execute(ops, self._timeout_us / 1e6)
        finally:
            if locked:
                self._oplock.release()
        results = MultiResult()
        for op in ops:
            if op.rc:
                raise exc_from_rc(op.rc, key=op.key.decode("utf-8", "replace"),
                                  all_results=results)
            for frame in op.replies or ():
                text = frame.value.decode("utf-8", "replace")
                try:
                    value: Any = int(text)
                except ValueError:
                    value = text
                results.setdefault(frame.key.decode("utf-8", "replace"), {})[op.server] = value
        return results

    # -- item syntax -------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        return self.get(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

