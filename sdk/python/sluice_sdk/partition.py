"""Choosing a partition or a queue, as the built-in routers do (`docs/plugins.md`).

`murmur2` is the hash Kafka's Java client takes of a record key in its default partitioner,
so a router using `key_partition` puts a key where a Java producer would put it. Round robin
counts from the address's `sequence` (messages routed on it since the broker started), not
from a counter of the plugin's own: a swapped or restarted plugin continues the rotation.
"""

from __future__ import annotations

from typing import Optional

_MASK_32 = 0xFFFFFFFF
_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2`: a signed 32-bit hash, identical to the Java client's."""
    length = len(data)
    h = (_SEED ^ length) & _MASK_32
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK_32
        k ^= k >> _R
        k = (k * _M) & _MASK_32
        h = ((h * _M) & _MASK_32) ^ k
    tail = length % 4
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK_32
    h ^= h >> 13
    h = (h * _M) & _MASK_32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def key_partition(key: bytes, partitions: int) -> int:
    """The Java client's partition for `key`: `toPositive(murmur2(key)) % partitions`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def round_robin(sequence: int, index: int, count: int) -> int:
    """The slot of the `index`-th message of a batch routed after `sequence` messages, among
    `count` slots."""
    return (sequence + index) % count


def partition_for(key: Optional[bytes], sequence: int, index: int,
                  partitions: int) -> Optional[int]:
    """The log partition of one message as the built-in routers choose it: murmur2 of the key,
    round robin without one; `None` when the send may not reach the log (`partitions` 0)."""
    if partitions == 0:
        return None
    if key is not None:
        return key_partition(key, partitions)
    return round_robin(sequence, index, partitions)
