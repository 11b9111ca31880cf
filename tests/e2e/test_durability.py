"""Durable produce through the Kafka codec: under the default `fsync` policy a produce with
acks is answered only once its records are on disk, readers see only what is, a produce not
durable within its timeout is answered REQUEST_TIMED_OUT, and none of this holds up other
connections. Also: topic settings through CreateTopics, and ListOffsets by time.

Slow disks are simulated with the storage failure point `fsync=sleep(ms)`
(`SLUICE_FAIL_POINTS`), which stalls every log fsync.
"""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import NewTopic

import kafka_wire
from clients import (Prober, Record, admin_client, consume_all, consumer, create_topic,
                     partition_count, produce_all)


def slow_fsync_broker(make_broker, monkeypatch, ms: int):
    monkeypatch.setenv("SLUICE_FAIL_POINTS", f"fsync=sleep({ms})")
    return make_broker()


def create_with(bootstrap: str, topic: str, config: dict[str, str]) -> None:
    admin = admin_client(bootstrap)
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                            config=config)],
                                  operation_timeout=30, request_timeout=30)
    futures[topic].result(timeout=30)


@pytest.mark.timeout(120)
def test_acks_all_is_answered_after_the_fsync_without_holding_up_other_connections(
        make_broker, monkeypatch):
    fsync_ms = 1500
    broker = slow_fsync_broker(make_broker, monkeypatch, fsync_ms)
    create_topic(broker.bootstrap, "durable", 1)
    create_with(broker.bootstrap, "relaxed", {"durability": "relaxed"})

    prober = Prober(broker.port()).start()
    t0 = time.monotonic()
    produce_all(broker.bootstrap, "durable", [Record(b"k", b"on disk")], partition=0)
    durable_s = time.monotonic() - t0
    t0 = time.monotonic()
    produce_all(broker.bootstrap, "relaxed", [Record(b"k", b"in memory")], partition=0)
    relaxed_s = time.monotonic() - t0
    # The bystander's round trips went on while the produce waited for its fsync: the wait
    # is the host's, not a pause inside the codec instance they share.
    prober.stop_and_verify(rtt_s_max=0.5 * fsync_ms / 1000)

    assert durable_s >= 0.9 * fsync_ms / 1000, (
        f"acks=all to an fsync topic answered after {durable_s:.2f}s, before its fsync")
    assert relaxed_s < 0.7 * fsync_ms / 1000, (
        f"acks=all to a relaxed topic took {relaxed_s:.2f}s: it waited for the disk")
    broker.assert_healthy()


@pytest.mark.timeout(120)
def test_readers_see_a_record_only_once_it_is_durable(make_broker, monkeypatch):
    broker = slow_fsync_broker(make_broker, monkeypatch, 3000)
    create_topic(broker.bootstrap, "visible", 1)
    # acks=0: no wait for the answer, the record is appended but not yet fsynced.
    produce_all(broker.bootstrap, "visible", [Record(b"k", b"v")], partition=0, acks=0)
    c = consumer(broker.bootstrap)
    try:
        tp = TopicPartition("visible", 0)
        assert c.get_watermark_offsets(tp, timeout=10, cached=False) == (0, 0), (
            "a record not yet on disk is visible")
        deadline = time.monotonic() + 20
        while c.get_watermark_offsets(tp, timeout=10, cached=False) != (0, 1):
            assert time.monotonic() < deadline, "the record never became visible"
            time.sleep(0.2)
    finally:
        c.close()
    got = consume_all(broker.bootstrap, "visible", 1)
    assert [(s.offset, s.record.value) for s in got] == [(0, b"v")]


@pytest.mark.timeout(120)
def test_produce_not_durable_within_its_timeout_answers_request_timed_out_in_order(
        make_broker, monkeypatch):
    broker = slow_fsync_broker(make_broker, monkeypatch, 4000)
    create_topic(broker.bootstrap, "late", 1)
    sock = kafka_wire.connect(broker.port())
    try:
        batch = kafka_wire.record_batch([b"slow disk"], int(time.time() * 1000))
        # A produce whose timeout is far below the fsync, and a request pipelined behind it.
        sent_at = time.monotonic()
        sock.sendall(kafka_wire.produce_v3(7, "late", 0, batch, acks=-1, timeout_ms=300)
                     + kafka_wire.api_versions_v0(8))
        corr, error, _ = kafka_wire.parse_produce_v3(kafka_wire.read_frame(sock, 10))
        answered_s = time.monotonic() - sent_at
        assert (corr, error) == (7, kafka_wire.ERROR_REQUEST_TIMED_OUT)
        assert answered_s < 3.0, f"answered after {answered_s:.2f}s, not at its timeout"
        versions = kafka_wire.parse_api_versions_v0(kafka_wire.read_frame(sock, 10))
        assert versions.correlation_id == 8, "the request behind the produce came out of order"

        # acks=1 with room to wait: answered, once durable, at the next offset.
        sock.sendall(kafka_wire.produce_v3(9, "late", 0, batch, acks=1, timeout_ms=30000))
        corr, error, base_offset = kafka_wire.parse_produce_v3(kafka_wire.read_frame(sock, 30))
        assert (corr, error, base_offset) == (9, 0, 1)
    finally:
        sock.close()
    broker.assert_healthy()


# More produces than a connection queues behind a parked one (QUEUED_REQUESTS_MAX, 256), as
# librdkafka pipelines them.
PIPELINED_PRODUCES = 600


@pytest.mark.timeout(120)
def test_a_producer_pipelining_past_the_queue_is_held_back_and_every_batch_stored_once(
        make_broker, monkeypatch):
    """The connection pauses its input instead of answering early: an early REQUEST_TIMED_OUT
    for records already appended makes a client retry them, storing them twice."""
    broker = slow_fsync_broker(make_broker, monkeypatch, 200)
    create_topic(broker.bootstrap, "piped", 1)
    sock = kafka_wire.connect(broker.port())
    try:
        now = int(time.time() * 1000)
        sock.sendall(b"".join(
            kafka_wire.produce_v3(c, "piped", 0, kafka_wire.record_batch([b"%d" % c], now),
                                  acks=-1, timeout_ms=30000)
            for c in range(PIPELINED_PRODUCES)))
        answers = [kafka_wire.parse_produce_v3(kafka_wire.read_frame(sock, 30))
                   for _ in range(PIPELINED_PRODUCES)]
    finally:
        sock.close()
    assert answers == [(c, 0, c) for c in range(PIPELINED_PRODUCES)], (
        "every produce answered in order, at its own offset, none timed out")
    got = consume_all(broker.bootstrap, "piped", 1)
    assert [s.record.value for s in got] == [b"%d" % c for c in range(PIPELINED_PRODUCES)]
    broker.assert_healthy()


@pytest.mark.timeout(120)
def test_concurrent_acks_all_producers_are_all_acknowledged_and_readable(broker):
    topics = [f"concurrent-{i}" for i in range(4)]
    results: dict[str, list] = {}
    failures: list[str] = []

    def produce(topic: str) -> None:
        try:
            records = [Record(f"k{i}".encode(), f"{topic}-{i}".encode()) for i in range(300)]
            results[topic] = produce_all(broker.bootstrap, topic, records, partition=0)
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"{topic}: {e}")

    threads = [threading.Thread(target=produce, args=(t,)) for t in topics]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not failures, failures
    for topic in topics:
        acked = {s.offset: s.record.value for s in results[topic]}
        read = {s.offset: s.record.value for s in consume_all(broker.bootstrap, topic, 1)}
        assert read == acked, f"{topic}: acknowledged and read records differ"
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_topic_settings_are_applied_and_bad_ones_refused_by_name(broker):
    create_with(broker.bootstrap, "configured", {"retention.ms": "3600000",
                                                 "durability": "relaxed"})
    assert partition_count(broker.bootstrap, "configured") == 1
    for bad, config in [("unknown-setting", {"no.such.setting": "1"}),
                        ("bad-value", {"durability": "sometimes"})]:
        with pytest.raises(KafkaException) as exc:
            create_with(broker.bootstrap, bad, config)
        err = exc.value.args[0]
        assert err.code() == KafkaError.INVALID_CONFIG, err
        assert next(iter(config)) in err.str(), err.str()
        assert partition_count(broker.bootstrap, bad) is None
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_offsets_for_times_finds_the_first_batch_at_or_after_a_time(broker):
    topic = "by-time"
    base = 1_700_000_000_000
    # Three produces, so three batches, an hour apart.
    for hour in range(3):
        produce_all(broker.bootstrap, topic,
                    [Record(None, f"{hour}-{i}".encode(), (), base + hour * 3_600_000 + i)
                     for i in range(3)], partition=0)
    c = consumer(broker.bootstrap)
    try:
        asked = [base - 1, base + 2, base + 3, base + 3_600_000, base + 7_200_002,
                 base + 7_200_003]
        # One lookup per call: librdkafka merges a list naming a partition twice.
        found = [c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)[0]
                 for ts in asked]
        assert [tp.error for tp in found] == [None] * len(asked)
        # Batch granularity: the base offset of the first batch whose newest record is at
        # or after the time; -1 past the newest record.
        assert [tp.offset for tp in found] == [0, 0, 3, 3, 6, -1]
    finally:
        c.close()
