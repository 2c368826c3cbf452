"""vBucket hashing (protocol.md 4.1): CRC-32 of the key, bits 16-30, modulo the map size."""
import zlib


def vbucket_for_key(key: bytes, num_vbuckets: int) -> int:
    """Return the vBucket id that owns ``key`` in a map of ``num_vbuckets`` entries."""
    return ((zlib.crc32(key) >> 16) & 0x7FFF) % num_vbuckets


def vbuckets_for_keys(keys: list[bytes], num_vbuckets: int) -> list[int]:
    """``vbucket_for_key`` of every key, in one call (a batch's routing step)."""
    crc32 = zlib.crc32
    return [((crc32(key) >> 16) & 0x7FFF) % num_vbuckets for key in keys]
