"""The idempotent producer: a retried produce whose first attempt was written but never
answered is not written twice, and a batch that skips sequence numbers is refused.

The first test starts the broker with the failure point `append-response=error*1`: the first
append that succeeds has its connection closed before the produce response is written, so the
client cannot know the write happened and sends it again (librdkafka with
enable.idempotence=true retries with the same producer id and sequence numbers).
"""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, TopicPartition

import kafka_wire
from clients import Record, consume_all, consumer, create_topic, producer
from conftest import unique

MESSAGES = 300


@pytest.mark.timeout(120)
def test_idempotent_producer_retrying_an_unanswered_append_writes_each_message_once(
        make_broker, monkeypatch):
    """All N messages are delivered without error although the broker dropped the
    connection of the first successful append; the partition then holds exactly N records,
    each once, in produce order, its high watermark is N, and every delivery report that
    names an offset names the record's real position."""
    monkeypatch.setenv("SLUICE_FAIL_POINTS", "append-response=error*1")
    broker = make_broker()
    topic = unique("idempotent")
    create_topic(broker.bootstrap, topic, 1)
    mark = broker.log_mark()

    client_errors: list[KafkaError] = []
    lock = threading.Lock()

    def on_error(err: KafkaError) -> None:
        with lock:
            client_errors.append(err)

    # Several small batches in flight at once: the retried batch has successors that were
    # sent behind it, which the broker must order after it.
    p = producer(broker.bootstrap, **{"enable.idempotence": True, "linger.ms": 2,
                                      "batch.num.messages": 20, "message.timeout.ms": 60000,
                                      "retry.backoff.ms": 100, "error_cb": on_error})
    sent = [Record(f"k{i % 7}".encode(), f"idempotent-{i:04d}".encode())
            for i in range(MESSAGES)]
    reports: dict[int, int] = {}
    failures: list[str] = []

    def on_delivery(i: int):
        def cb(err, msg):
            if err is not None:
                failures.append(f"message {i}: {err}")
            else:
                reports[i] = msg.offset()
        return cb

    for i, r in enumerate(sent):
        p.produce(topic, key=r.key, value=r.value, partition=0, on_delivery=on_delivery(i))
        p.poll(0)
    left = p.flush(60)
    assert left == 0, f"{left} messages undelivered after 60s"
    assert not failures, f"{len(failures)} delivery errors, first {failures[:5]}"
    assert len(reports) == MESSAGES
    fatal = [f"{e.name()}: {e.str()}" for e in client_errors if e.fatal()]
    assert not fatal, f"the idempotent producer hit a fatal error: {fatal}"

    fired = broker.wait_for_log("failure point append-response", since=mark, timeout_s=10)
    assert fired, "the failure point never fired: nothing was retried"

    got = consume_all(broker.bootstrap, topic, 1)
    assert [s.offset for s in got] == list(range(MESSAGES)), (
        f"{len(got)} records at offsets {[s.offset for s in got][:20]}...")
    values = [s.record.value for s in got]
    duplicated = sorted({v for v in values if values.count(v) > 1})
    assert not duplicated, f"{len(duplicated)} messages written twice, e.g. {duplicated[:5]}"
    assert values == [r.value for r in sent], "records are not the messages in produce order"
    wrong = {i: o for i, o in reports.items() if o >= 0 and o != i}
    assert not wrong, (f"delivery reports name wrong offsets (index: offset): "
                       f"{sorted(wrong.items())[:5]}")

    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10,
                                       cached=False) == (0, MESSAGES)
    finally:
        c.close()
    broker.assert_healthy(since=mark)


@pytest.mark.timeout(60)
def test_a_batch_that_skips_sequence_numbers_is_refused_out_of_order(broker):
    """By hand, as an idempotent producer (InitProducerId, then Produce v3 batches with the
    producer id, epoch and base sequence): sequence 0-2 is written; a batch starting at 5
    instead of 3 is refused with OUT_OF_ORDER_SEQUENCE_NUMBER (45) and writes nothing; the
    first batch sent again is recognised as a duplicate (answered with its original offset,
    or DUPLICATE_SEQUENCE_NUMBER) and not written again; sequence 3 is then accepted at
    offset 3."""
    topic = unique("sequence-gap")
    create_topic(broker.bootstrap, topic, 1)
    sock = kafka_wire.connect(broker.port())
    try:
        sock.sendall(kafka_wire.init_producer_id_v0(1))
        corr, err, producer_id, epoch = kafka_wire.parse_init_producer_id_v0(
            kafka_wire.read_frame(sock, 10))
        assert (corr, err) == (1, 0), f"InitProducerId answered error {err}"
        assert producer_id >= 0 and epoch >= 0, (producer_id, epoch)

        def produce(correlation_id: int, values: list[bytes], sequence: int) -> tuple[int, int]:
            batch = kafka_wire.record_batch(values, int(time.time() * 1000),
                                            producer_id=producer_id, producer_epoch=epoch,
                                            base_sequence=sequence)
            sock.sendall(kafka_wire.produce_v3(correlation_id, topic, 0, batch, acks=-1,
                                               timeout_ms=10000))
            corr, error, base_offset = kafka_wire.parse_produce_v3(
                kafka_wire.read_frame(sock, 15))
            assert corr == correlation_id
            return error, base_offset

        assert produce(2, [b"a", b"b", b"c"], 0) == (0, 0)
        error, _ = produce(3, [b"gap"], 5)
        assert error == kafka_wire.ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER, (
            f"a batch with sequence 5 after 0..2 was answered {error}, expected 45")
        error, base_offset = produce(4, [b"a", b"b", b"c"], 0)
        assert (error, base_offset) == (0, 0) or \
            error == kafka_wire.ERROR_DUPLICATE_SEQUENCE_NUMBER, (
                f"the resent first batch was answered error {error} offset {base_offset}")
        assert produce(5, [b"d"], 3) == (0, 3)
    finally:
        sock.close()
    got = consume_all(broker.bootstrap, topic, 1)
    assert [(s.offset, s.record.value) for s in got] == [
        (0, b"a"), (1, b"b"), (2, b"c"), (3, b"d")]
    broker.assert_healthy()
