"""SASL (PLAIN, CRAM-MD5, SCRAM) and the refusal of data operations before it succeeds."""
from __future__ import annotations

import pytest

from couchbase.protocol import Opcode, Status
from couchbase.protocol.sasl import ScramClient, cram_md5_response, plain_message
from support.rawkv import KV, unique_key


def plain(kv: KV, user: str, password: str):
    return kv.request(Opcode.SASL_AUTH, b"PLAIN", value=plain_message(user, password))


def cram(kv: KV, user: str, password: str):
    challenge = kv.request(Opcode.SASL_AUTH, b"CRAM-MD5")
    assert challenge.status == Status.AUTH_CONTINUE and len(challenge.value) == 16
    return kv.request(Opcode.SASL_STEP, b"CRAM-MD5",
                      value=cram_md5_response(user, password, challenge.value))


@pytest.fixture
def protected_only(server_factory):
    """A server whose only bucket has a password."""
    return server_factory(buckets=("protected:secret",))


def test_list_mechs(kv):
    mechs = kv.request(Opcode.SASL_LIST_MECHS).value.split()
    assert b"PLAIN" in mechs and b"CRAM-MD5" in mechs


def test_data_refused_until_sasl_succeeds(protected_only):
    with KV(protected_only.kv_port) as kv:
        key = unique_key()
        assert kv.set(key, b"v").status == Status.AUTH_ERROR
        assert kv.get(key).status == Status.AUTH_ERROR
        assert kv.request(Opcode.STAT).status == Status.AUTH_ERROR
        assert plain(kv, "protected", "wrong").status == Status.AUTH_ERROR
        assert kv.set(key, b"v").status == Status.AUTH_ERROR
        assert plain(kv, "protected", "secret").status == Status.SUCCESS
        assert kv.set(key, b"v").status == Status.SUCCESS
        assert kv.get(key).value == b"v"


@pytest.mark.parametrize("auth", [plain, cram])
def test_mechanisms_select_the_protected_bucket(server, auth):
    key = unique_key()
    with KV(server.kv_port) as kv:
        assert auth(kv, "protected", "secret").status == Status.SUCCESS
        kv.set(key, b"in protected")
    with KV(server.kv_port) as kv:
        assert kv.get(key).status == Status.KEY_ENOENT
        assert auth(kv, "protected", "nope").status == Status.AUTH_ERROR


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA1", "SCRAM-SHA256", "SCRAM-SHA512"])
def test_scram(server, mechanism):
    with KV(server.kv_port) as kv:
        client = ScramClient(mechanism, "protected", "secret")
        first = kv.request(Opcode.SASL_AUTH, mechanism.encode(), value=client.first())
        assert first.status == Status.AUTH_CONTINUE
        final = kv.request(Opcode.SASL_STEP, mechanism.encode(), value=client.final(first.value))
        assert final.status == Status.SUCCESS
        client.verify(final.value)


def test_cram_md5_bad_digest_and_step_without_auth(server):
    with KV(server.kv_port) as kv:
        assert kv.request(Opcode.SASL_STEP, b"CRAM-MD5", value=b"x y").status == Status.AUTH_ERROR
        kv.request(Opcode.SASL_AUTH, b"CRAM-MD5")
        reply = kv.request(Opcode.SASL_STEP, b"CRAM-MD5", value=b"protected " + b"0" * 32)
        assert reply.status == Status.AUTH_ERROR


def test_unknown_mechanism_and_malformed_plain(server):
    with KV(server.kv_port) as kv:
        assert kv.request(Opcode.SASL_AUTH, b"GSSAPI").status == Status.AUTH_ERROR
        assert kv.request(Opcode.SASL_AUTH, b"PLAIN", value=b"no-nuls").status == Status.AUTH_ERROR
        assert kv.request(Opcode.NOOP).status == Status.SUCCESS


def test_admin_may_select_any_bucket(server):
    with KV(server.kv_port) as kv:
        assert plain(kv, "Administrator", "password").status == Status.SUCCESS
        assert kv.request(Opcode.SELECT_BUCKET, b"protected").status == Status.SUCCESS
        key = unique_key()
        kv.set(key, b"by admin")
    with KV(server.kv_port) as kv:
        plain(kv, "protected", "secret")
        assert kv.get(key).value == b"by admin"


def test_passwordless_bucket_accepts_empty_password(server_factory):
    srv = server_factory(buckets=("default", "open"))
    with KV(srv.kv_port) as kv:
        assert plain(kv, "open", "").status == Status.SUCCESS
        key = unique_key()
        kv.set(key, b"in open")
        assert kv.request(Opcode.SELECT_BUCKET, b"default").status == Status.SUCCESS
        assert kv.get(key).status == Status.KEY_ENOENT
