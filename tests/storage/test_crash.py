"""Crash safety: whatever OBSERVE reported persisted survives SIGKILL at any moment."""
from __future__ import annotations

import signal
import struct
import subprocess
import sys

import pytest

from couchbase.protocol import ObserveState, Opcode, Status, encode_request
from couchbase.protocol import vbucket_for_key
from couchbase.protocol.extras import pack_store

from support.cbserver_process import CbserverProcess
from support.rawkv import KV
from support.shared import conformance_script

DOCS = 20_000
BATCH = 500


def _value(i: int, version: int) -> bytes:
    return b'{"i":%d,"v":%d,"pad":"%s"}' % (i, version, b"x" * (i % 200))


def _sets(keys_versions: list[tuple[int, int]]) -> list[bytes]:
    requests = []
    for i, version in keys_versions:
        key = b"crash-%06d" % i
        requests.append(encode_request(Opcode.SET, key, pack_store(i % 7, 0), _value(i, version),
                                       vbucket=vbucket_for_key(key, 1024), opaque=i))
    return requests


class Ledger:
    """What the client was told: every acknowledged version and what OBSERVE said is durable."""

    def __init__(self) -> None:
        self.versions: dict[bytes, dict[int, bytes]] = {}
        self.persisted: dict[bytes, int] = {}
        self.deleted_durably: set[bytes] = set()
        #: Values sent without waiting for the reply: the server may have stored them, and
        #: persisted them, before it was killed (newer than what OBSERVE reported).
        self.in_flight: dict[bytes, set[bytes]] = {}

    def write(self, kv: KV, items: list[tuple[int, int]]) -> None:
        for (i, version), reply in zip(items, kv.call(_sets(items))):
            assert reply.status == Status.SUCCESS, reply
            key = b"crash-%06d" % i
            self.versions.setdefault(key, {})[reply.cas] = _value(i, version)
            self.deleted_durably.discard(key)

    def observe_all(self, kv: KV) -> None:
        latest = {key: max(versions) for key, versions in self.versions.items()
                  if key not in self.deleted_durably}
        keys = list(latest)
        for start in range(0, len(keys), 500):
            for key, (state, cas) in kv.observe(keys[start:start + 500]).items():
                if state == ObserveState.PERSISTED and cas == latest[key]:
                    self.persisted[key] = cas

    def delete(self, kv: KV, keys: list[bytes]) -> None:
        for key in keys:
            assert kv.delete(key).status == Status.SUCCESS
        for _ in range(2000):
            states = kv.observe(keys)
            durable = [key for key in keys if states[key][0] == ObserveState.NOT_FOUND]
            if len(durable) == len(keys):
                break
        self.deleted_durably.update(durable)
        for key in durable:
            self.persisted.pop(key, None)

    def verify(self, kv: KV) -> None:
        keys = list(self.persisted) + sorted(self.deleted_durably)
        replies = {}
        for start in range(0, len(keys), 1000):
            replies.update(kv.get_many(keys[start:start + 1000]))
        lost = []
        for key, cas in self.persisted.items():
            reply = replies[key]
            acknowledged = self.versions[key].get(reply.cas) == reply.value
            newer_unacknowledged = reply.cas > cas and reply.value in self.in_flight.get(key, ())
            ok = (reply.status == Status.SUCCESS and reply.cas >= cas
                  and (acknowledged or newer_unacknowledged)
                  and struct.unpack(">I", reply.extras)[0] == int(key[6:]) % 7)
            if not ok:
                lost.append(key)
        back = [key for key in self.deleted_durably if replies[key].status != Status.KEY_ENOENT]
        assert not lost, f"{len(lost)} persisted documents lost or damaged, e.g. {lost[:3]}"
        assert not back, f"{len(back)} durably deleted keys came back, e.g. {back[:3]}"


def _kill_during_write_burst(server: CbserverProcess, kv: KV, ledger: Ledger) -> None:
    for start in range(0, DOCS, BATCH):
        ledger.write(kv, [(i, 0) for i in range(start, min(start + BATCH, DOCS))])
        if start % 4000 == 0:
            ledger.observe_all(kv)
    ledger.delete(kv, [b"crash-%06d" % i for i in range(0, DOCS, 97)])
    ledger.observe_all(kv)
    unacknowledged = [(i, 1) for i in range(0, 5000)]
    for i, version in unacknowledged:
        ledger.in_flight.setdefault(b"crash-%06d" % i, set()).add(_value(i, version))
    kv.sock.sendall(b"".join(_sets(unacknowledged)))
    server.kill()


def _kill_during_flush(server: CbserverProcess, kv: KV, ledger: Ledger) -> None:
    ledger.write(kv, [(i, 0) for i in range(DOCS)])
    ledger.observe_all(kv)
    ledger.delete(kv, [b"crash-%06d" % i for i in range(5, DOCS, 501)])
    ledger.write(kv, [(i, 2) for i in range(0, DOCS, 2)])
    ledger.observe_all(kv)
    server.kill()


def _kill_after_everything_persisted(server: CbserverProcess, kv: KV, ledger: Ledger) -> None:
    ledger.write(kv, [(i, 0) for i in range(DOCS)])
    for _ in range(200):
        ledger.observe_all(kv)
        if len(ledger.persisted) == DOCS:
            break
    assert len(ledger.persisted) == DOCS
    server.kill()


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [_kill_during_write_burst, _kill_during_flush,
                                      _kill_after_everything_persisted],
                         ids=["write-burst", "during-flush", "all-persisted"])
def test_sigkill_loses_nothing_reported_persisted(tmp_path, scenario) -> None:
    data_dir = tmp_path / "data"
    server = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    kv = server.wait_warm()
    ledger = Ledger()
    scenario(server, kv, ledger)
    kv.close()
    assert ledger.persisted, "the scenario observed nothing persisted; it proves nothing"
    server = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    kv = server.wait_warm()
    ledger.verify(kv)
    kv.close()
    assert server.terminate() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_persists_everything_acknowledged(tmp_path, sig) -> None:
    data_dir = tmp_path / "data"
    server = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    kv = server.wait_warm()
    ledger = Ledger()
    ledger.write(kv, [(i, 0) for i in range(3000)])
    kv.close()
    assert server.terminate(sig) == 0
    ledger.persisted = {key: max(versions) for key, versions in ledger.versions.items()}
    server = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    kv = server.wait_warm()
    ledger.verify(kv)
    kv.close()
    server.terminate()


@pytest.mark.slow
def test_conformance_crash_persistence_script(tmp_path) -> None:
    data_dir = tmp_path / "data"
    state = tmp_path / "state.json"
    server = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    server.wait_warm().close()
    write = subprocess.run([sys.executable, str(conformance_script("crash_persistence.py")), "write", str(server.kv_port),
                            str(state), str(DOCS)], capture_output=True, text=True, timeout=300)
    assert write.returncode == 0, write.stderr
    server.kill()
    server = CbserverProcess(data_dir, tmp_path / "cbserver.log")
    verify = subprocess.run([sys.executable, str(conformance_script("crash_persistence.py")), "verify", str(server.kv_port),
                             str(state)], capture_output=True, text=True, timeout=300)
    server.terminate()
    assert verify.returncode == 0, verify.stdout + verify.stderr
