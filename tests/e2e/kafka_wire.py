"""Hand-encoded Kafka frames over raw sockets, for tests that must control every byte.

Real clients (kcat, confluent-kafka) never send a malformed frame, so the bad-input, sandbox and
memory tests speak the wire format themselves. Only what those tests need is here: the request
header (v1), ApiVersions v0 (request and response), and socket helpers with deadlines.
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
