"""Real Kafka clients driven from the tests: confluent-kafka (librdkafka) and the kcat CLI.

Consumer groups are not implemented yet (issue 2), so every consumer here uses `assign()` to
explicit partitions from the beginning and never commits; `group.id` is set only because the
Python client refuses to build a consumer without one.
"""

from __future__ import annotations

import itertools
import logging
import subprocess
import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire

# librdkafka's socket and metadata timeouts are tens of seconds by default; a test that waits
# that long for a dead broker wastes its time budget, so everything here fails faster.
CLIENT_TIMEOUTS = {
    "socket.timeout.ms": 10000,
    "metadata.max.age.ms": 30000,
}


@dataclass(frozen=True)
class Record:
    """One message as a test sends it and expects to read it back."""
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Stored:
    """Where the broker put a record, as a delivery report or a fetch says."""
    partition: int
    offset: int
    record: Record


_logger_ids = itertools.count()


class ClientErrors:
    """Collects librdkafka `error_cb` calls and, through `logger` (pass it as the client's
    `logger` setting), its warning-or-worse log lines (a dropped connection is one)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.logs: list[str] = []
        self._lock = threading.Lock()
        self.logger = logging.getLogger(f"rdkafka.{next(_logger_ids)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(_Collect(self))

    def error_cb(self, err: KafkaError) -> None:
        with self._lock:
            self.errors.append(f"{err.name()}: {err.str()}")



class _Collect(logging.Handler):
    def __init__(self, errors: ClientErrors) -> None:
        super().__init__(logging.WARNING)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        with self.errors._lock:
            self.errors.logs.append(record.getMessage())


def producer(bootstrap: str, errors: ClientErrors | None = None, **extra) -> Producer:
    conf = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": False,
        "linger.ms": 5,
        "client.id": "sluice-e2e-producer",
        **CLIENT_TIMEOUTS,
    }
    errors = errors if errors is not None else ClientErrors()
    conf["error_cb"] = errors.error_cb
    conf["logger"] = errors.logger
    conf.update(extra)
    return Producer(conf)


def produce_all(bootstrap: str, topic: str, records: list[Record], *,
                partition: int | None = None, timeout_s: float = 60.0,
                errors: ClientErrors | None = None, **extra) -> list[Stored]:
    """Produces `records` with acks=all and returns one delivery report per record, in input
    order. Fails if any report carries an error or is missing at the deadline."""
    errors = errors if errors is not None else ClientErrors()
    p = producer(bootstrap, errors, **extra)
    reports: list[Stored | None] = [None] * len(records)
    failures: list[str] = []

    def on_delivery(i: int):
        def cb(err, msg):
            if err is not None:
                failures.append(f"record {i}: {err}")
            else:
                reports[i] = Stored(msg.partition(), msg.offset(), records[i])
        return cb

    for i, r in enumerate(records):
        kwargs = {"key": r.key, "value": r.value, "on_delivery": on_delivery(i)}
        if r.headers:
            kwargs["headers"] = list(r.headers)
        if r.timestamp_ms is not None:
            kwargs["timestamp"] = r.timestamp_ms
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(timeout_s)
    assert left == 0, f"{left} messages still undelivered after {timeout_s}s"
    assert not failures, f"{len(failures)} delivery errors, first: {failures[:5]}"
    missing = [i for i, rep in enumerate(reports) if rep is None]
    assert not missing, f"{len(missing)} records have no delivery report"
    assert not errors.errors, f"producer error_cb: {errors.errors[:5]}"
    return reports  # type: ignore[return-value]


def consumer(bootstrap: str, errors: ClientErrors | None = None, **extra) -> Consumer:
    conf = {
        "bootstrap.servers": bootstrap,
        # Required by the Python client; no group request is made with assign() and no commits.
        "group.id": "sluice-e2e-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "client.id": "sluice-e2e-consumer",
        **CLIENT_TIMEOUTS,
    }
    errors = errors if errors is not None else ClientErrors()
    conf["error_cb"] = errors.error_cb
    conf["logger"] = errors.logger
    conf.update(extra)
    return Consumer(conf)


def consume_all(bootstrap: str, topic: str, partitions: int, *, timeout_s: float = 30.0,
                errors: ClientErrors | None = None, **extra) -> list[Stored]:
    """Reads every partition of `topic` from the beginning to its end (partition EOF), with
    assign() (no group), and returns what it read in fetch order per partition."""
    errors = errors if errors is not None else ClientErrors()
    c = consumer(bootstrap, errors, **extra)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        at_eof: set[int] = set()
        out: list[Stored] = []
        deadline = time.monotonic() + timeout_s
        while len(at_eof) < partitions:
            assert time.monotonic() < deadline, (
                f"consumed {len(out)} messages, partitions at end {sorted(at_eof)} of "
                f"{partitions} after {timeout_s}s")
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_eof.add(msg.partition())
                    continue
                raise AssertionError(f"consumer error: {msg.error()}")
            at_eof.discard(msg.partition())
            headers = tuple((k, v) for k, v in (msg.headers() or []))
            _, ts = msg.timestamp()
            out.append(Stored(msg.partition(), msg.offset(),
                              Record(msg.key(), msg.value(), headers, ts)))
        return out
    finally:
        c.close()


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "logger": ClientErrors().logger,
                        **CLIENT_TIMEOUTS})


def create_topic(bootstrap: str, topic: str, partitions: int, timeout_s: float = 30.0) -> None:
    admin = admin_client(bootstrap)
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                            replication_factor=1)],
                                  operation_timeout=timeout_s, request_timeout=timeout_s)
    futures[topic].result(timeout=timeout_s)


def partition_count(bootstrap: str, topic: str, timeout_s: float = 10.0) -> int | None:
    """The topic's partition count from a metadata request for all topics (which never
    auto-creates), or None when the broker does not list it."""
    admin = admin_client(bootstrap)
    md = admin.list_topics(timeout=timeout_s)
    t = md.topics.get(topic)
    if t is None:
        return None
    assert t.error is None, f"metadata for {topic}: {t.error}"
    return len(t.partitions)


def round_trip(bootstrap: str, topic: str, n: int = 20, tag: str = "rt") -> None:
    """A well-behaved client's smoke test: produce `n` messages to a one-partition topic and
    read back exactly those (the topic may already hold earlier ones)."""
    records = [Record(f"{tag}-k{i}".encode(), f"{tag}-v{i}-{time.time_ns()}".encode())
               for i in range(n)]
    reports = produce_all(bootstrap, topic, records, partition=0, timeout_s=30)
    got = {s.offset: s.record for s in consume_all(bootstrap, topic, 1, timeout_s=30)}
    for rep in reports:
        assert rep.offset in got, f"offset {rep.offset} acknowledged but not readable"
        assert (got[rep.offset].key, got[rep.offset].value) == (rep.record.key, rep.record.value)


class SteadyTraffic:
    """A well-behaved producer sending to one partition at a steady pace in a background
    thread, recording every delivery's latency. Used to show a client keeps working while
    something else misbehaves."""

    def __init__(self, bootstrap: str, topic: str, interval_s: float = 0.005,
                 tag: str = "steady") -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.interval_s = interval_s
        self.tag = tag
        self.errors = ClientErrors()
        self.sent: list[Record] = []
        self.delivered: dict[int, Stored] = {}  # index in `sent` -> report
        self.delivered_at: dict[int, float] = {}  # index -> time.monotonic() of the report
        self.latency_s_max = 0.0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"traffic-{tag}", daemon=True)
        self._producer = producer(bootstrap, self.errors, **{"linger.ms": 1})

    def start(self) -> "SteadyTraffic":
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            rec = Record(f"{self.tag}-{i}".encode(), f"{self.tag}-value-{i}-{time.time_ns()}".encode())
            self.sent.append(rec)
            sent_at = time.monotonic()

            def cb(err, msg, i=i, sent_at=sent_at, rec=rec):
                now = time.monotonic()
                if err is not None:
                    self.failures.append(f"message {i}: {err}")
                    return
                self.delivered[i] = Stored(msg.partition(), msg.offset(), rec)
                self.delivered_at[i] = now
                self.latency_s_max = max(self.latency_s_max, now - sent_at)

            while True:
                try:
                    self._producer.produce(self.topic, key=rec.key, value=rec.value,
                                           partition=0, on_delivery=cb)
                    break
                except BufferError:
                    self._producer.poll(0.01)
            i += 1
            self._producer.poll(self.interval_s)

    def delivered_between(self, t0: float, t1: float) -> int:
        return sum(1 for t in list(self.delivered_at.values()) if t0 <= t < t1)

    def stop_and_verify(self, flush_timeout_s: float = 30.0,
                        latency_s_max: float = 5.0) -> None:
        """Stops sending, waits for every report, and checks: no delivery error, no client
        error, every message acknowledged and readable with its content, bounded latency."""
        self._stop.set()
        self._thread.join(10)
        left = self._producer.flush(flush_timeout_s)
        assert left == 0, f"{left} steady-traffic messages undelivered after {flush_timeout_s}s"
        assert not self.failures, f"steady traffic delivery errors: {self.failures[:5]}"
        assert not self.errors.errors, f"steady traffic client errors: {self.errors.errors[:5]}"
        assert len(self.sent) > 0, "steady traffic sent nothing"
        assert len(self.delivered) == len(self.sent), (
            f"{len(self.sent) - len(self.delivered)} of {len(self.sent)} without a report")
        assert self.latency_s_max < latency_s_max, (
            f"a steady-traffic delivery took {self.latency_s_max:.2f}s")
        got = {s.offset: s.record for s in consume_all(self.bootstrap, self.topic, 1)}
        for i, rep in self.delivered.items():
            assert rep.offset in got, f"message {i} acknowledged at offset {rep.offset}, not read"
            assert got[rep.offset].value == rep.record.value, f"message {i} content differs"


class Prober:
    """Keeps one raw connection on a listener and sends ApiVersions v0 on it every few
    milliseconds in a background thread, recording the slowest round trip and any failure.
    Shows that a connection that is not involved in some misbehaviour is not harmed by it."""

    def __init__(self, port: int, interval_s: float = 0.02) -> None:
        self.sock = kafka_wire.connect(port)
        self.interval_s = interval_s
        self.round_trips = 0
        self.rtt_s_max = 0.0
        self.failure: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)

    def start(self) -> "Prober":
        self._thread.start()
        return self

    def _run(self) -> None:
        corr = 1
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                kafka_wire.api_versions_round_trip(self.sock, corr, timeout_s=10)
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                self.failure = f"round trip {corr}: {type(e).__name__}: {e}"
                return
            self.rtt_s_max = max(self.rtt_s_max, time.monotonic() - t0)
            self.round_trips += 1
            corr += 1
            self._stop.wait(self.interval_s)

    def stop_and_verify(self, rtt_s_max: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(15)
        self.sock.close()
        assert self.failure is None, f"bystander connection failed: {self.failure}"
        assert self.round_trips > 0, "bystander made no round trip"
        assert self.rtt_s_max < rtt_s_max, (
            f"bystander's slowest ApiVersions round trip took {self.rtt_s_max:.2f}s")


def kcat(*args: str, timeout_s: float = 120.0, input_path: str | None = None
         ) -> subprocess.CompletedProcess:
    """Runs kcat with `args`; returns the completed process (stdout and stderr as text)."""
    stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
    try:
        return subprocess.run(["kcat", *args], stdin=stdin, capture_output=True,
                              timeout=timeout_s)
    finally:
        if input_path:
            stdin.close()
