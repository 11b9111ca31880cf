"""A topic's max.message.bytes bounds what a producer may write to it: a record batch above
the limit is refused with MESSAGE_TOO_LARGE (the client is configured to send it: its own
message.max.bytes is higher), one below it is written, and raising the topic's limit with
IncrementalAlterConfigs lets the same record through."""

from __future__ import annotations

import random

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from admin_helpers import ADMIN_S_MAX, admin, create
from clients import consume_all, producer
from conftest import unique

TOPIC_LIMIT = 10_000


def send_one(bootstrap: str, topic: str, value: bytes):
    """Produces one record on its own (its own batch) and returns (error, offset) from its
    delivery report."""
    p = producer(bootstrap, **{"message.max.bytes": 1_000_000, "linger.ms": 0,
                               "message.timeout.ms": 20000})
    reports = []
    p.produce(topic, key=b"k", value=value, partition=0,
              on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert p.flush(30) == 0, "no delivery report within 30s"
    assert len(reports) == 1
    return reports[0]


@pytest.mark.timeout(60)
def test_a_record_above_the_topics_max_message_bytes_is_refused_message_too_large(broker):
    topic = unique("max-message-bytes")
    a = admin(broker.bootstrap)
    create(a, topic, 1, {"max.message.bytes": str(TOPIC_LIMIT)})
    rng = random.Random(5)
    small = rng.randbytes(TOPIC_LIMIT // 2)
    big = rng.randbytes(TOPIC_LIMIT * 2)  # incompressible, and no compression anyway

    assert send_one(broker.bootstrap, topic, small) == (None, 0)
    err, _ = send_one(broker.bootstrap, topic, big)
    assert err is not None, f"a {len(big)}-byte record passed a {TOPIC_LIMIT}-byte limit"
    assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE, f"expected MESSAGE_TOO_LARGE, got {err}"
    assert [s.record.value for s in consume_all(broker.bootstrap, topic, 1)] == [small]

    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", str(TOPIC_LIMIT * 4),
                    incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res])[res].result(ADMIN_S_MAX)
    assert send_one(broker.bootstrap, topic, big) == (None, 1)
    got = consume_all(broker.bootstrap, topic, 1)
    assert [s.record.value for s in got] == [small, big]
    broker.assert_healthy()
