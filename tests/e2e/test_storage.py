"""Storage seen from outside: segments rolled by a real client's traffic, a corrupt sealed
segment that stops the broker from starting (and changes nothing), `sluice repair`, and
retention deleting expired segments while the broker runs."""

from __future__ import annotations

import hashlib
import socket
import struct
import subprocess
import time
from pathlib import Path

import kafka_wire

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import artifact, unique

SEGMENT_BYTES = 16384
RECORDS = 400
VALUE_BYTES = 500


def produce(bootstrap: str, topic: str, n: int, prefix: str) -> list[tuple[int, bytes]]:
    """`n` records, acks=all, one at a time in order; returns (offset, value) acknowledged."""
    acked: list[tuple[int, bytes]] = []
    errors: list[str] = []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked.append((msg.offset(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                  "max.in.flight": 1, "batch.num.messages": 1})
    for i in range(n):
        value = f"{prefix}-{i:05d}-".encode().ljust(VALUE_BYTES, b"v")
        p.produce(topic, value=value, partition=0, on_delivery=report)
        p.poll(0)
    assert p.flush(30) == 0
    assert not errors, errors[:3]
    return acked


def consume(bootstrap: str, topic: str, start: int, count: int) -> list[tuple[int, bytes]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, start)])
    out: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + 30
    while len(out) < count and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            out.append((m.offset(), m.value()))
    c.close()
    return out


def segment_logs(data_dir: Path, topic: str) -> list[Path]:
    return sorted((data_dir / "topics" / topic / "0").glob("*.log"))


def digest(data_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.rglob("*")) if p.is_file() and p.name != "lock"}


def test_a_corrupt_sealed_segment_stops_the_start_until_repaired(make_broker):
    broker = make_broker(topics={"segment-bytes": SEGMENT_BYTES})
    topic = unique("sealed")
    acked = produce(broker.bootstrap, topic, RECORDS, "r")
    assert broker.stop() == 0
    logs = segment_logs(broker.data_dir, topic)
    assert len(logs) >= 4, logs
    # Damage the last bytes of the second segment: a sealed one.
    damaged = logs[1]
    data = bytearray(damaged.read_bytes())
    data[-20] ^= 0xFF
    damaged.write_bytes(bytes(data))
    before = digest(broker.data_dir)

    proc = subprocess.run(broker.command(), capture_output=True, text=True, timeout=120,
                          cwd=broker.root)
    assert proc.returncode != 0, "the broker started over a corrupt sealed segment"
    assert str(damaged) in proc.stderr and "sluice repair" in proc.stderr, proc.stderr[-2000:]
    assert digest(broker.data_dir) == before, "a refused start changed the data directory"

    repair = subprocess.run([str(artifact("SLUICE_BIN")), "repair", "--config",
                             str(broker.config_path)],
                            capture_output=True, text=True, timeout=120)
    assert repair.returncode == 0, repair.stderr[-2000:]
    assert "lost+found" in repair.stdout, repair.stdout

    broker.start()
    # The log was cut inside the damaged segment, at its first invalid batch, and goes on from
    # there; everything before the cut reads back exactly.
    more = produce(broker.bootstrap, topic, 5, "after")
    cut = more[0][0]
    assert int(damaged.stem) <= cut < int(logs[2].stem), (cut, damaged.name, logs[2].name)
    intact = [(o, v) for o, v in acked if o < cut]
    assert consume(broker.bootstrap, topic, 0, len(intact)) == intact
    lost = list((broker.data_dir / "lost+found").rglob("*.log*"))
    assert lost, "repair moved nothing aside"
    broker.assert_healthy()


def test_retention_deletes_expired_segments_while_the_broker_runs(make_broker):
    broker = make_broker(topics={"segment-bytes": SEGMENT_BYTES, "retention-check-ms": 300})
    topic = unique("retained")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics([NewTopic(topic, 1, 1, config={
        "retention.ms": "2000", "segment.bytes": str(SEGMENT_BYTES)})])
    futures[topic].result(30)
    acked = produce(broker.bootstrap, topic, RECORDS, "old")
    assert len(segment_logs(broker.data_dir, topic)) >= 4
    # The old records expire two seconds after their timestamps; new ones keep coming.
    time.sleep(2.5)
    fresh = produce(broker.bootstrap, topic, 40, "new")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logs = segment_logs(broker.data_dir, topic)
        if int(logs[0].stem) > 0:
            break
        time.sleep(0.2)
    logs = segment_logs(broker.data_dir, topic)
    assert int(logs[0].stem) > 0, "no segment was deleted"
    start = int(logs[0].stem)
    # Only whole expired segments went: every fresh record is still readable.
    assert start <= fresh[0][0]
    got = consume(broker.bootstrap, topic, start, fresh[-1][0] + 1 - start)
    assert [v for o, v in got if o >= fresh[0][0]] == [v for _, v in fresh]
    assert broker.log_lines("segment deleted by retention")
    assert len(acked) == RECORDS
    broker.assert_healthy()


# A reader that pipelines fetches for everything and never reads its socket must cost the broker
# one response at a time (the connection stops being read while its writes are blocked), not
# the whole log.
SLOW_READER_LOG_MB = 48
SLOW_READER_FETCHES = 100
FETCH_BYTES = 16 << 20
# Generous: one 16 MiB response in the host plus its copy in the codec instance, and page
# cache noise; unbounded buffering would be SLOW_READER_FETCHES x 16 MiB.
SLOW_READER_RSS_GROWTH_KIB_MAX = 160 << 10


def fetch_v4(correlation_id: int, topic: str, offset: int) -> bytes:
    """Fetch v4: one topic, one partition, no wait."""
    name = topic.encode()
    body = (struct.pack(">iiiib", -1, 0, 1, FETCH_BYTES, 0)
            + struct.pack(">ih", 1, len(name)) + name
            + struct.pack(">iiqi", 1, 0, offset, FETCH_BYTES))
    return kafka_wire.request(1, 4, correlation_id, body)


def test_a_reader_that_never_reads_does_not_make_the_broker_hold_the_log(make_broker):
    broker = make_broker()
    topic = unique("slow")
    value = b"s" * 1024
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 20})
    for _ in range(SLOW_READER_LOG_MB * 1024):
        while True:
            try:
                p.produce(topic, value=value, partition=0)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(120) == 0
    before = broker.rss_kib()

    slow = socket.create_connection(("127.0.0.1", broker.port()))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.setblocking(False)
    sent = 0
    requests = b"".join(fetch_v4(i, topic, 0) for i in range(SLOW_READER_FETCHES))
    deadline = time.monotonic() + 10
    while sent < len(requests) and time.monotonic() < deadline:
        try:
            sent += slow.send(requests[sent:])
        except BlockingIOError:
            time.sleep(0.05)
    time.sleep(3)
    growth = broker.rss_kib() - before
    # Everyone else is served meanwhile.
    other = produce(broker.bootstrap, unique("other"), 5, "o")
    assert len(other) == 5
    slow.close()
    assert growth < SLOW_READER_RSS_GROWTH_KIB_MAX, (
        f"broker grew by {growth} KiB for a reader that never reads")
    broker.assert_healthy()
