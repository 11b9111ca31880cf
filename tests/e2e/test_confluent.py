"""confluent-kafka (Python, librdkafka) produces with acks=all and consumes with assign(); every
message is still there, at the same offset with the same content, after a broker restart
(issue 2, "Must show").
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from clients import ClientErrors, Record, consume_all, consumer, create_topic, produce_all

PARTITIONS = 3
MESSAGES = 5_000


def make_records(n: int, seed: int, ts_base_ms: int) -> list[Record]:
    """Distinct records that cover what a Kafka v2 batch can carry: binary keys and values of
    varied size (up to 4 KiB), null keys, null values (tombstones), headers (one with a null
    value) and producer timestamps."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = None if i % 97 == 0 else f"k{i}".encode() + rng.randbytes(rng.randint(0, 16))
        value = (None if i % 89 == 0
                 else f"v{i}|".encode() + rng.randbytes(rng.choice([0, 10, 100, 1000, 4000])))
        headers = (("index", str(i).encode()), ("empty", None)) if i % 5 == 0 else ()
        out.append(Record(key, value, headers, ts_base_ms + i))
    return out


def by_position(stored) -> dict[tuple[int, int], Record]:
    return {(s.partition, s.offset): s.record for s in stored}


@pytest.mark.timeout(240)
def test_acks_all_messages_are_consumed_identically_and_survive_restart(broker):
    topic = "confluent-acks-all"
    create_topic(broker.bootstrap, topic, PARTITIONS)
    records = make_records(MESSAGES, seed=2, ts_base_ms=int(time.time() * 1000) - MESSAGES)

    reports = produce_all(broker.bootstrap, topic, records)
    expected = by_position(reports)
    assert len(expected) == MESSAGES, "two records were acknowledged at the same offset"
    per_partition = {p: sorted(o for (pp, o) in expected if pp == p) for p in range(PARTITIONS)}
    for p, offsets in per_partition.items():
        assert offsets == list(range(len(offsets))), (
            f"partition {p}: acknowledged offsets are not contiguous from 0")

    before = by_position(consume_all(broker.bootstrap, topic, PARTITIONS))
    assert before == expected, diff(expected, before)

    broker.restart()

    after = by_position(consume_all(broker.bootstrap, topic, PARTITIONS))
    assert after == expected, "after restart: " + diff(expected, after)

    # Offsets only grow: new messages continue where the log ended before the restart.
    more = produce_all(broker.bootstrap, topic, make_records(30, seed=3, ts_base_ms=1))
    for s in more:
        assert s.offset >= len(per_partition[s.partition]), (
            f"partition {s.partition}: new message at offset {s.offset}, but offsets up to "
            f"{len(per_partition[s.partition]) - 1} were already used before the restart")
    broker.assert_healthy()


def diff(expected: dict, got: dict) -> str:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    changed = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
    detail = ""
    if changed:
        k = changed[0]
        detail = f"; first changed {k}: sent {expected[k]!r:.300} read {got[k]!r:.300}"
    return (f"{len(missing)} missing (first {missing[:5]}), {len(extra)} unexpected "
            f"(first {extra[:5]}), {len(changed)} changed{detail}")


@pytest.mark.timeout(60)
def test_consumer_with_assign_needs_no_group_coordinator(broker):
    """assign() + no commits must work on a broker without consumer groups: no client error,
    every message read, offsets as acknowledged."""
    topic = "assign-only"
    reports = produce_all(broker.bootstrap, topic, make_records(200, seed=4, ts_base_ms=1000),
                          partition=0)
    errors = ClientErrors()
    got = consume_all(broker.bootstrap, topic, 1, errors=errors)
    assert by_position(got) == by_position(reports)
    assert not errors.errors, f"consumer error_cb: {errors.errors}"


@pytest.mark.timeout(60)
def test_watermarks_report_earliest_and_latest_offsets(broker):
    topic = "watermarks"
    create_topic(broker.bootstrap, topic, 2)
    produce_all(broker.bootstrap, topic, make_records(70, seed=5, ts_base_ms=1), partition=1)
    c = consumer(broker.bootstrap)
    try:
        # cached=False: a ListOffsets request for earliest and for latest.
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10,
                                       cached=False) == (0, 0)
        assert c.get_watermark_offsets(TopicPartition(topic, 1), timeout=10,
                                       cached=False) == (0, 70)
    finally:
        c.close()


@pytest.mark.timeout(60)
def test_fetch_waits_for_data_and_wakes_when_it_arrives(broker):
    """A consumer at the end of the log long-polls (fetch max-wait); a message produced later
    reaches it promptly, without waiting out the poll timeout many times."""
    topic = "long-poll"
    produce_all(broker.bootstrap, topic, [Record(b"first", b"1")], partition=0)
    c = consumer(broker.bootstrap, **{"fetch.wait.max.ms": 5000})
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        first = poll_message(c, 20)
        assert first.value() == b"1"
        eof = c.poll(10)
        assert eof is not None and eof.error() and eof.error().code() == KafkaError._PARTITION_EOF

        produced_at = [0.0]

        def produce_later():
            time.sleep(1.0)
            produced_at[0] = time.monotonic()
            produce_all(broker.bootstrap, topic, [Record(b"second", b"2")], partition=0)

        t = threading.Thread(target=produce_later)
        t.start()
        second = poll_message(c, 20)
        received_at = time.monotonic()
        t.join()
        assert second.value() == b"2" and second.offset() == 1
        # The fetch was parked with a 5 s max-wait; a woken fetch answers well before that.
        assert received_at - produced_at[0] < 3.0, (
            f"message reached the waiting consumer {received_at - produced_at[0]:.2f}s "
            "after it was produced")
    finally:
        c.close()


def poll_message(c, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise AssertionError(f"consumer error: {m.error()}")
        return m
    raise AssertionError(f"no message within {timeout_s}s")
