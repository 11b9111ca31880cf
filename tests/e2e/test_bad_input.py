"""Bad input on the Kafka listener, over raw sockets: a malformed, truncated or oversized frame
gets an error response or a closed connection with a logged reason; never a panic, a hang, or
harm to other connections (issue 2, "Must show").

Every case runs while a bystander connection on the same listener keeps making ApiVersions
round trips, and is followed by a real client's produce-and-consume.
"""

from __future__ import annotations

import random
import socket
import struct
import time

import pytest

import kafka_wire
from clients import Prober, round_trip
from conftest import Broker, unique
from kafka_wire import frame, request, request_header_v1

FRAME_BYTES_MAX = 1 << 20
# A closed connection or an answer must come this fast; anything slower is a hang.
VERDICT_S_MAX = 5.0

_rng = random.Random(20261121)

# case id -> (bytes to send, whether an error response is acceptable instead of a close)
CASES = {
    "garbage-body": (frame(bytes(_rng.randrange(256) for _ in range(64))), True),
    "valid-header-garbage-body": (
        request(kafka_wire.API_KEY_METADATA, 1, 11, bytes(_rng.randrange(256) for _ in range(40))),
        True),
    "metadata-announcing-2-billion-topics": (
        request(kafka_wire.API_KEY_METADATA, 1, 12, struct.pack(">i", 0x7FFFFFFF)), True),
    "produce-announcing-2-billion-topics": (
        request(kafka_wire.API_KEY_PRODUCE, 3, 13,
                struct.pack(">hhii", -1, -1, 1000, 0x7FFFFFFF)), True),
    "client-id-longer-than-frame": (
        frame(struct.pack(">hhih", kafka_wire.API_KEY_API_VERSIONS, 0, 14, 0x7FFF) + b"abc"),
        True),
    "unknown-api-key": (request(999, 0, 15), True),
    "unsupported-api-versions-version": (request(kafka_wire.API_KEY_API_VERSIONS, 99, 16), True),
    "header-shorter-than-minimum": (frame(b"\x00\x12\x00"), True),
    "zero-size": (struct.pack(">i", 0), False),
    "negative-size": (struct.pack(">i", -1), False),
    "most-negative-size": (struct.pack(">i", -(2**31)), False),
    "one-byte-over-frame-bytes-max": (
        struct.pack(">i", FRAME_BYTES_MAX + 1) + request_header_v1(18, 0, 17), False),
    "size-2GiB": (struct.pack(">i", 2**31 - 1) + b"\x00" * 1024, False),
}


@pytest.fixture(scope="module")
def broker(module_tmp):
    b = Broker(module_tmp / "broker",
               listeners={"kafka": {"codec": "builtin:codec-kafka",
                                    "frame-bytes-max": FRAME_BYTES_MAX}}).start()
    yield b
    b.teardown()


@pytest.fixture
def bystander(broker):
    """A well-behaved raw connection on the same listener, busy throughout the test. Before
    the test starts, every earlier connection is closed by the log, so the first `connection
    closed` a test sees is about its own connection."""
    broker.wait_connections(0)
    p = Prober(broker.port()).start()
    broker.wait_connections(1)
    yield p
    p.stop_and_verify()


def assert_unharmed(broker: Broker, since: int) -> None:
    round_trip(broker.bootstrap, unique("after-bad-input"), n=10)
    broker.assert_healthy(since=since)


def closed_reason(broker: Broker, since: int) -> str:
    line = broker.wait_for_log(r"connection closed.*", since=since, timeout_s=VERDICT_S_MAX)[0]
    reason = line.group(0).split("reason=", 1)
    assert len(reason) == 2 and reason[1].strip(), f"close logged without a reason: {line.group(0)}"
    return reason[1].strip()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(CASES))
def test_malformed_frame_gets_error_response_or_logged_close(broker, bystander, case):
    data, response_ok = CASES[case]
    mark = broker.log_mark()
    with kafka_wire.connect(broker.port()) as sock:
        broker.wait_for_log(r"connection opened", since=mark)
        sock.sendall(data)
        closed, got = kafka_wire.wait_closed_or_answered(sock, VERDICT_S_MAX)
    if closed:
        print(f"{case}: closed, reason: {closed_reason(broker, mark)}")
    else:
        assert got, f"{case}: neither an answer nor a close within {VERDICT_S_MAX}s (a hang)"
        assert response_ok, f"{case}: answered {got[:64]!r} instead of closing"
        (size,) = struct.unpack(">i", got[:4])
        assert size >= 4, f"{case}: answer frame of size {size}"
        print(f"{case}: answered with a {size}-byte frame")
    assert_unharmed(broker, mark)


@pytest.mark.timeout(60)
def test_truncated_frame_then_close_is_logged(broker, bystander):
    mark = broker.log_mark()
    sock = kafka_wire.connect(broker.port())
    broker.wait_for_log(r"connection opened", since=mark)
    sock.sendall(struct.pack(">i", 100) + request_header_v1(18, 0, 21))  # 100 announced, 16 sent
    sock.shutdown(socket.SHUT_WR)
    closed, _ = kafka_wire.wait_closed(sock, VERDICT_S_MAX)
    sock.close()
    assert closed, "broker kept a half-closed connection with a partial frame open"
    print(f"truncated frame: reason: {closed_reason(broker, mark)}")
    assert_unharmed(broker, mark)


@pytest.mark.timeout(60)
def test_oversized_frame_is_refused_before_its_payload_arrives(broker, bystander):
    """The header announces more than frame-bytes-max; the broker closes without waiting for
    (or buffering) the payload, while the client is still trying to send it."""
    mark = broker.log_mark()
    sock = kafka_wire.connect(broker.port())
    broker.wait_for_log(r"connection opened", since=mark)
    announced = 64 << 20
    sock.sendall(struct.pack(">i", announced) + request_header_v1(0, 3, 22))
    t0 = time.monotonic()
    sent = 0
    refused = False
    chunk = b"\x00" * 65536
    sock.settimeout(VERDICT_S_MAX)
    try:
        while sent < announced and time.monotonic() - t0 < VERDICT_S_MAX:
            sent += sock.send(chunk)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        refused = True
    if not refused:
        refused, _ = kafka_wire.wait_closed(sock, VERDICT_S_MAX)
    sock.close()
    assert refused, "the connection stayed open after an oversized frame header"
    assert sent < announced, (
        f"the broker let all {announced} announced bytes in before closing")
    print(f"oversized frame: {sent} payload bytes got in before the close "
          f"({time.monotonic() - t0:.2f}s); reason: {closed_reason(broker, mark)}")
    assert_unharmed(broker, mark)


@pytest.mark.timeout(60)
def test_request_cut_into_single_bytes_is_answered(broker, bystander):
    with kafka_wire.connect(broker.port()) as sock:
        for b in kafka_wire.api_versions_v0(31):
            sock.sendall(bytes([b]))
            time.sleep(0.001)
        resp = kafka_wire.parse_api_versions_v0(kafka_wire.read_frame(sock))
        assert resp.correlation_id == 31 and resp.error_code == 0


@pytest.mark.timeout(60)
def test_pipelined_requests_are_answered_in_order(broker, bystander):
    with kafka_wire.connect(broker.port()) as sock:
        sock.sendall(b"".join(kafka_wire.api_versions_v0(c) for c in range(1, 101)))
        got = [kafka_wire.parse_api_versions_v0(kafka_wire.read_frame(sock)).correlation_id
               for _ in range(100)]
        assert got == list(range(1, 101))


@pytest.mark.timeout(30)
def test_api_versions_advertises_the_ranges_librdkafka_needs(broker):
    """librdkafka enables features only when the ranges include particular versions: Produce
    v0-v3 and v7, Fetch v4 and v10, ApiVersions v0 (issue 2)."""
    with kafka_wire.connect(broker.port()) as sock:
        versions = kafka_wire.api_versions_round_trip(sock, 41).versions
    need = {kafka_wire.API_KEY_PRODUCE: [0, 1, 2, 3, 7], kafka_wire.API_KEY_FETCH: [4, 10],
            kafka_wire.API_KEY_API_VERSIONS: [0]}
    for key, wanted in need.items():
        assert key in versions, f"api key {key} not advertised"
        lo, hi = versions[key]
        for v in wanted:
            assert lo <= v <= hi, f"api key {key}: range {lo}..{hi} lacks v{v}"
    # The rest of issue 2's APIs are advertised with a sane range.
    for key in (kafka_wire.API_KEY_LIST_OFFSETS, kafka_wire.API_KEY_METADATA,
                kafka_wire.API_KEY_CREATE_TOPICS, kafka_wire.API_KEY_DELETE_TOPICS):
        assert key in versions, f"api key {key} not advertised"
        lo, hi = versions[key]
        assert 0 <= lo <= hi, f"api key {key}: range {lo}..{hi}"
