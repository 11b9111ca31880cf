"""Hand-encoded Kafka frames over raw sockets, for tests that must control every byte.

Real clients (kcat, confluent-kafka) never send a malformed frame, so the bad-input, sandbox and
memory tests speak the wire format themselves. Only what those tests need is here: the request
header (v1), ApiVersions v0 (request and response), socket helpers with deadlines, Produce v3
with v2 record batches (idempotent ones too), and InitProducerId v0.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

API_KEY_PRODUCE = 0
API_KEY_FETCH = 1
API_KEY_LIST_OFFSETS = 2
API_KEY_METADATA = 3
API_KEY_API_VERSIONS = 18
API_KEY_CREATE_TOPICS = 19
API_KEY_DELETE_TOPICS = 20
API_KEY_INIT_PRODUCER_ID = 22

ERROR_NONE = 0
ERROR_UNSUPPORTED_VERSION = 35

CLIENT_ID = b"sluice-e2e"


def request_header_v1(api_key: int, api_version: int, correlation_id: int,
                      client_id: bytes | None = CLIENT_ID) -> bytes:
    """Request header v1: api_key int16, api_version int16, correlation_id int32, client_id
    nullable string (int16 length, -1 for null)."""
    if client_id is None:
        cid = struct.pack(">h", -1)
    else:
        cid = struct.pack(">h", len(client_id)) + client_id
    return struct.pack(">hhi", api_key, api_version, correlation_id) + cid


def frame(payload: bytes) -> bytes:
    """Prefixes `payload` with its int32 size, as every Kafka request and response is."""
    return struct.pack(">i", len(payload)) + payload


def request(api_key: int, api_version: int, correlation_id: int, body: bytes = b"") -> bytes:
    """A whole framed request with a v1 header."""
    return frame(request_header_v1(api_key, api_version, correlation_id) + body)


def api_versions_v0(correlation_id: int) -> bytes:
    """ApiVersions v0: header only, empty body."""
    return request(API_KEY_API_VERSIONS, 0, correlation_id)


@dataclass
class ApiVersionsResponse:
    correlation_id: int
    error_code: int
    # api_key -> (min_version, max_version)
    versions: dict[int, tuple[int, int]]


def parse_api_versions_v0(payload: bytes) -> ApiVersionsResponse:
    """Parses an ApiVersions v0 response (without the size prefix): correlation_id int32,
    error_code int16, then an int32-counted array of (api_key, min, max) int16 triples."""
    correlation_id, error_code, count = struct.unpack_from(">ihi", payload, 0)
    versions: dict[int, tuple[int, int]] = {}
    pos = 10
    if count > 0:
        assert len(payload) >= pos + 6 * count, (
            f"ApiVersions response announces {count} entries but has {len(payload)} bytes")
        for _ in range(count):
            key, lo, hi = struct.unpack_from(">hhh", payload, pos)
            versions[key] = (lo, hi)
            pos += 6
    return ApiVersionsResponse(correlation_id, error_code, versions)


class Closed(Exception):
    """The peer closed the connection (EOF or reset) while we waited for a frame."""


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Reads exactly `n` bytes before `deadline` (time.monotonic()); raises Closed on EOF or
    reset, TimeoutError when the deadline passes."""
    chunks = []
    remaining = n
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"read {n - remaining} of {n} bytes before the deadline")
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(remaining, 1 << 20))
        except socket.timeout as e:
            raise TimeoutError(f"read {n - remaining} of {n} bytes before the deadline") from e
        except (ConnectionResetError, BrokenPipeError) as e:
            raise Closed(str(e)) from e
        if not chunk:
            raise Closed(f"EOF after {n - remaining} of {n} bytes")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket, timeout_s: float = 5.0,
               size_max: int = 16 << 20) -> bytes:
    """Reads one size-prefixed response frame and returns its payload."""
    deadline = time.monotonic() + timeout_s
    (size,) = struct.unpack(">i", recv_exact(sock, 4, deadline))
    assert 0 <= size <= size_max, f"response frame announces {size} bytes"
    return recv_exact(sock, size, deadline)


def connect(port: int, timeout_s: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def api_versions_round_trip(sock: socket.socket, correlation_id: int,
                            timeout_s: float = 5.0) -> ApiVersionsResponse:
    """Sends ApiVersions v0 and reads its answer; checks the correlation id and error code."""
    sock.sendall(api_versions_v0(correlation_id))
    resp = parse_api_versions_v0(read_frame(sock, timeout_s))
    assert resp.correlation_id == correlation_id, (
        f"response correlation id {resp.correlation_id}, request had {correlation_id}")
    assert resp.error_code == ERROR_NONE, f"ApiVersions v0 answered error {resp.error_code}"
    assert API_KEY_API_VERSIONS in resp.versions, "ApiVersions does not list itself"
    return resp


def wait_closed(sock: socket.socket, timeout_s: float) -> tuple[bool, bytes]:
    """Reads until the peer closes or `timeout_s` passes. Returns (closed, bytes received)."""
    deadline = time.monotonic() + timeout_s
    got = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, b"".join(got)
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return False, b"".join(got)
        except (ConnectionResetError, BrokenPipeError):
            return True, b"".join(got)
        if not chunk:
            return True, b"".join(got)
        got.append(chunk)


def is_open(sock: socket.socket) -> bool:
    """True when the peer has neither closed nor reset the connection (non-blocking peek)."""
    sock.setblocking(False)
    try:
        data = sock.recv(1, socket.MSG_PEEK)
        return bool(data)
    except BlockingIOError:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False
    finally:
        sock.setblocking(True)


def wait_closed_or_answered(sock: socket.socket, timeout_s: float) -> tuple[bool, bytes]:
    """Reads until the peer closes, or one whole response frame has arrived, or `timeout_s`
    passes. Returns (closed, bytes received)."""
    deadline = time.monotonic() + timeout_s
    got = b""
    while True:
        if len(got) >= 4:
            (size,) = struct.unpack(">i", got[:4])
            if size >= 0 and len(got) >= 4 + size:
                return False, got
        left = deadline - time.monotonic()
        if left <= 0:
            return False, got
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return False, got
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        if not chunk:
            return True, got
        got += chunk


# -- Produce v3, for tests that must see the broker's exact answer to one produce -------------

ERROR_REQUEST_TIMED_OUT = 7
ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45
ERROR_DUPLICATE_SEQUENCE_NUMBER = 46


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of a Kafka v2 record batch."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        byte = z & 0x7F
        z >>= 7
        if z:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def record_batch(values: list[bytes], timestamp_ms: int, *, producer_id: int = -1,
                 producer_epoch: int = -1, base_sequence: int = -1) -> bytes:
    """A magic-2 record batch of `values` (no keys, no headers, uncompressed), all stamped
    `timestamp_ms`, base offset 0: what a producer sends. An idempotent producer's batch
    carries its producer id and epoch and the sequence number of its first record."""
    records = b""
    for i, v in enumerate(values):
        body = (b"\x00" + _varint(0) + _varint(i) + _varint(-1) + _varint(len(v)) + v
                + _varint(0))
        records += _varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, timestamp_ms, timestamp_ms,
                            producer_id, producer_epoch, base_sequence, len(values)) + records
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def produce_v3(correlation_id: int, topic: str, partition: int, batch: bytes, acks: int,
               timeout_ms: int) -> bytes:
    """Produce v3 (the oldest that carries v2 batches): one topic, one partition."""
    name = topic.encode()
    body = (struct.pack(">hhi", -1, acks, timeout_ms)
            + struct.pack(">ih", 1, len(name)) + name
            + struct.pack(">iii", 1, partition, len(batch)) + batch)
    return request(API_KEY_PRODUCE, 3, correlation_id, body)


def parse_produce_v3(payload: bytes) -> tuple[int, int, int]:
    """A Produce v3 response with one topic and one partition: (correlation id, error code,
    base offset)."""
    (correlation_id, topics) = struct.unpack_from(">ii", payload, 0)
    assert topics == 1, f"produce response has {topics} topics"
    (name_len,) = struct.unpack_from(">h", payload, 8)
    pos = 10 + name_len
    (partitions, _index, error_code, base_offset) = struct.unpack_from(">iihq", payload, pos)
    assert partitions == 1, f"produce response has {partitions} partitions"
    return correlation_id, error_code, base_offset


# -- InitProducerId v0, for tests that produce as an idempotent producer by hand ---------------

def init_producer_id_v0(correlation_id: int, transaction_timeout_ms: int = 60000) -> bytes:
    """InitProducerId v0 without a transactional id: asks for a producer id and epoch."""
    body = struct.pack(">hi", -1, transaction_timeout_ms)
    return request(API_KEY_INIT_PRODUCER_ID, 0, correlation_id, body)


def parse_init_producer_id_v0(payload: bytes) -> tuple[int, int, int, int]:
    """An InitProducerId v0 response: (correlation id, error code, producer id, epoch)."""
    correlation_id, _throttle_ms, error_code, producer_id, epoch = struct.unpack_from(
        ">iihqh", payload, 0)
    return correlation_id, error_code, producer_id, epoch
