"""Topics through the Kafka codec: auto-creation with the configured partition count,
CreateTopics and DeleteTopics from the admin client."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from clients import Record, admin_client, create_topic, partition_count, produce_all, round_trip


@pytest.mark.timeout(60)
def test_auto_created_topic_gets_default_partitions(make_broker):
    broker = make_broker(topics={"auto-create": True, "default-partitions": 4})
    assert partition_count(broker.bootstrap, "auto-four") is None
    reports = produce_all(broker.bootstrap, "auto-four",
                          [Record(f"k{i}".encode(), b"v") for i in range(40)])
    assert partition_count(broker.bootstrap, "auto-four") == 4
    assert {r.partition for r in reports} <= set(range(4))


@pytest.mark.timeout(60)
def test_admin_client_creates_and_deletes_topics(broker):
    create_topic(broker.bootstrap, "made-by-admin", 3)
    assert partition_count(broker.bootstrap, "made-by-admin") == 3

    with pytest.raises(KafkaException) as exc:
        create_topic(broker.bootstrap, "made-by-admin", 3)
    assert exc.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    round_trip(broker.bootstrap, "made-by-admin")

    admin = admin_client(broker.bootstrap)
    admin.delete_topics(["made-by-admin"], operation_timeout=10,
                        request_timeout=10)["made-by-admin"].result(timeout=15)
    assert partition_count(broker.bootstrap, "made-by-admin") is None

    with pytest.raises(KafkaException) as exc:
        admin.delete_topics(["never-existed"], operation_timeout=10,
                            request_timeout=10)["never-existed"].result(timeout=15)
    assert exc.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    broker.assert_healthy()
