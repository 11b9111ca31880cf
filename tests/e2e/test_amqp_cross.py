"""Kafka and AMQP meet on multicast addresses (issue 5): a multicast address is a Kafka topic.
A record produced with confluent-kafka reaches an AMQP subscriber as a data section with its
key in the `x-opt-partition-key` annotation; an AMQP message with a binary body and that
annotation is a Kafka record with that value and key.
"""

from __future__ import annotations

import pytest
from proton import Message, symbol

from amqp_clients import body, connection, module_broker, receiver, send, take_accept
from clients import Record, consume_all, produce_all
from conftest import unique

PARTITION_KEY = "x-opt-partition-key"


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp)


def key_bytes(key) -> bytes | None:
    """The annotation as the Kafka key it stands for (a string or a binary annotation)."""
    if key is None or isinstance(key, bytes):
        return key
    return bytes(key) if isinstance(key, memoryview) else str(key).encode()


@pytest.mark.timeout(120)
def test_kafka_records_reach_an_amqp_subscriber_with_value_as_body_and_key_annotated(broker):
    topic = unique("k2a")
    records = [Record(f"key-{i}".encode(), f"value-{i}".encode() + bytes([0, 255, i]))
               for i in range(20)]
    with connection(broker) as conn:
        # Attached before the records exist: a subscriber gets what is sent after it.
        r = receiver(conn, f"topic://{topic}", credit=10)
        produce_all(broker.bootstrap, topic, records)
        got = take_accept(r, len(records))
    assert [body(m) for m in got] == [rec.value for rec in records]
    assert [key_bytes((m.annotations or {}).get(PARTITION_KEY)) for m in got] == [
        rec.key for rec in records]


@pytest.mark.timeout(120)
def test_amqp_messages_to_a_topic_address_are_kafka_records_with_value_and_key(broker):
    topic = unique("a2k")
    sent = [(f"key-{i}", f"payload-{i}".encode() + bytes([0, 255, i])) for i in range(20)]
    with connection(broker) as conn:
        send(conn, f"topic://{topic}",
             [Message(body=value, annotations={symbol(PARTITION_KEY): key})
              for key, value in sent])
    read = consume_all(broker.bootstrap, topic, partitions=1)
    assert [(s.record.key, s.record.value) for s in read] == [
        (key.encode(), value) for key, value in sent]
