"""The official Python SDK 4.6.3 runs every key-value operation of issue 7 on cbserver."""
from __future__ import annotations

import pytest

LOCKED_CAS = 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize("user, password, bucket", [
    ("protected", "secret", "protected"),       # 2.x bucket user: the bucket's name
    ("Administrator", "password", "protected"),  # the admin may open every bucket
    ("default", "", "default"),                 # a bucket without a password
])
def test_every_kv_operation(sdk4, prefix, user, password, bucket):
    r = sdk4.run("kv_operations", user=user, password=password, bucket=bucket, prefix=prefix)
    assert r["upsert"]["cas"] > 0
    assert r["get"] == {"cas": r["upsert"]["cas"], "content": {"n": 1, "s": "é"}}
    assert r["exists"] is True and r["exists_missing"] is False
    assert r["get_missing"] == {"error": "DocumentNotFoundException"}
    assert r["insert_new"]["cas"] > 0
    assert r["get_new"] == {"cas": r["insert_new"]["cas"], "content": "text"}
    assert r["insert_existing"] == {"error": "DocumentExistsException"}
    assert r["replace_stale_cas"] == {"error": "CasMismatchException"}
    assert r["replace"]["cas"] > r["upsert"]["cas"]
    assert r["replace_missing"] == {"error": "DocumentNotFoundException"}
    assert r["get_after_replace"] == {"cas": r["replace"]["cas"], "content": {"n": 2}}
    assert r["touch"]["cas"] > r["replace"]["cas"]
    assert r["get_and_touch"]["content"] == {"n": 2}
    locked = r["get_and_lock"]
    assert locked["content"] == {"n": 2} and locked["cas"] not in (0, LOCKED_CAS)
    # XERROR was negotiated, so a lock conflict is LOCKED (not a retried temporary failure)
    assert r["upsert_while_locked"] == {"error": "DocumentLockedException"}
    assert r["get_while_locked"] == {"cas": LOCKED_CAS, "content": {"n": 2}}
    assert r["unlock_wrong_cas"] == {"error": "CasMismatchException"}
    assert r["unlock"] is True
    assert r["unlock_not_locked"] == {"error": "DocumentNotLockedException"}
    assert r["upsert_after_unlock"]["cas"] > locked["cas"]
    assert (r["increment_create"], r["increment"], r["decrement"]) == (10, 15, 12)
    assert r["decrement_missing_default_initial"] == 0
    assert r["get_counter"]["content"] == 12
    assert r["upsert_bytes"]["cas"] > 0 and r["append"]["cas"] > r["upsert_bytes"]["cas"]
    assert r["prepend"]["cas"] > r["append"]["cas"]
    assert r["append_missing"] == {"error": "DocumentNotFoundException"}
    assert r["get_text"] == "start-middle-end"
    many = [f"{prefix}multi-{i}" for i in range(20)]
    assert r["upsert_multi"] == {"all_ok": True, "keys": sorted(many), "cas_nonzero": True}
    assert r["get_multi"] == {
        "all_ok": False,
        "contents": {key: {"i": i} for i, key in enumerate(many)},
        "errors": {f"{prefix}missing": "DocumentNotFoundException"},
    }
    assert r["remove"]["cas"] > 0
    assert r["remove_missing"] == {"error": "DocumentNotFoundException"}
    assert r["get_removed"] == {"error": "DocumentNotFoundException"}


@pytest.mark.parametrize("user, password, bucket, outcome", [
    ("protected", "wrong", "protected", {"ok": False, "error": "AuthenticationException"}),
    ("nobody", "secret", "protected", {"ok": False, "error": "AuthenticationException"}),
    ("protected", "secret", "nosuch", {"ok": False, "error": "BucketNotFoundException"}),
    ("protected", "secret", "protected", {"ok": True, "exists": False}),
])
def test_bootstrap_outcomes(sdk4, user, password, bucket, outcome):
    assert sdk4.run("bootstrap", user=user, password=password, bucket=bucket) == outcome
