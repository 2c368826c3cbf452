"""Batches and values larger than the socket buffers: partial sends, replies split
over many reads, quiet gets mixed with misses across request chunks."""
from couchbase import FMT_BYTES
from couchbase.exceptions import NotFoundError


def test_large_values_single_and_batched(cb, key_prefix):
    big = bytes(range(256)) * 4096                     # 1 MiB
    key = key_prefix + "big"
    assert cb.set(key, big, format=FMT_BYTES).success
    assert cb.get(key).value == big
    items = {f"{key_prefix}{i}": bytes([i]) * 200_000 for i in range(40)}
    assert cb.set_multi(items, format=FMT_BYTES).all_ok
    got = cb.get_multi(list(items))
    assert {k: r.value for k, r in got.items()} == items


def test_many_keys_with_misses_across_chunks(cb, key_prefix):
    present = {f"{key_prefix}p{i}": i for i in range(0, 300, 3)}
    cb.set_multi(present)
    asked = [f"{key_prefix}p{i}" for i in range(300)]
    got = cb.get_multi(asked, quiet=True)
    assert len(got) == 300 and got.all_ok == 0
    assert {k: r.value for k, r in got.items() if r.success} == present
    assert all(got[k].rc == 0x0D for k in asked if k not in present)
    try:
        cb.get_multi(asked)
    except NotFoundError as exc:
        assert exc.key in asked and exc.key not in present
        assert len(exc.all_results) == 300
    else:
        raise AssertionError("a miss in a non-quiet get_multi must raise")
