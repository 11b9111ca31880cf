"""Small helpers for the admin tests (test_admin.py): confluent-kafka's AdminClient calls
that wait for their futures, a group that a real consumer left behind, and a KafkaAdminClient.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import (AdminClient, ConfigEntry, ConfigResource, ConfigSource,
                                   NewTopic, ResourceType)

from clients import CLIENT_TIMEOUTS, ClientErrors, Record, produce_all
from conftest import unique

ADMIN_S_MAX = 30.0


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "logger": ClientErrors().logger,
                        **CLIENT_TIMEOUTS})


def create(a: AdminClient, topic: str, partitions: int = 1, config: dict | None = None,
           validate_only: bool = False) -> None:
    fs = a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                   config=config or {})],
                         validate_only=validate_only, operation_timeout=ADMIN_S_MAX,
                         request_timeout=ADMIN_S_MAX)
    fs[topic].result(ADMIN_S_MAX)


def describe_topic_configs(a: AdminClient, topic: str) -> dict[str, ConfigEntry]:
    """Every config of the topic (DescribeConfigs): name -> entry (value, source)."""
    res = ConfigResource(ResourceType.TOPIC, topic)
    return a.describe_configs([res], request_timeout=ADMIN_S_MAX)[res].result(ADMIN_S_MAX)


def source(entry: ConfigEntry) -> ConfigSource:
    return ConfigSource(entry.source)


def error_code(exc) -> int:
    """The Kafka error code of a KafkaException caught by pytest.raises (an ExceptionInfo)."""
    return exc.value.args[0].code()


def group_left_behind(bootstrap: str, topic: str, partitions: int, messages: int) -> str:
    """Produces `messages` keyed messages to `topic`, then a consumer joins a new group
    (subscribe), consumes them all, commits synchronously and closes (leaving the group):
    the group is then Empty with committed offsets. Returns the group id."""
    produce_all(bootstrap, topic, [Record(f"k{i}".encode(), f"v{i}".encode())
                                   for i in range(messages)])
    group = unique("admin-g")
    c = active_consumer(bootstrap, topic, group)
    try:
        consume_n(c, messages)
    finally:
        c.close()
    return group


def active_consumer(bootstrap: str, topic: str, group: str) -> Consumer:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "client.id": f"{group}-member", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, **CLIENT_TIMEOUTS})
    c.subscribe([topic])
    return c


def consume_n(c: Consumer, n: int, timeout_s: float = ADMIN_S_MAX) -> list:
    """Polls `c` until it consumed `n` messages, committing each synchronously."""
    got = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n:
        assert time.monotonic() < deadline, f"consumed {len(got)} of {n} in {timeout_s}s"
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        got.append(m)
        c.commit(message=m, asynchronous=False)
    return got


def kafka_python_admin(bootstrap: str):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="e2e-kafka-python-admin",
                            request_timeout_ms=int(ADMIN_S_MAX * 1000))
