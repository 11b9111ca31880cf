"""The admin APIs through two real admin clients, confluent-kafka's AdminClient (librdkafka)
and kafka-python's KafkaAdminClient: topics created with configs (and validate_only, which
creates nothing), configs described (value and source) and altered (incrementally and with
the legacy whole-set AlterConfigs), partitions added, consumer groups listed, described and
deleted (with their offsets), records deleted (the low watermark moves and consumers start
there), and the cluster described."""

from __future__ import annotations

import pytest
from confluent_kafka import (ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError,
                             KafkaException, TopicPartition)
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                   NewPartitions, ResourceType)

from admin_helpers import (ADMIN_S_MAX, active_consumer, admin, consume_n, create,
                           describe_topic_configs, error_code, group_left_behind,
                           kafka_python_admin, source)
from clients import Record, consume_all, consumer, partition_count, produce_all
from conftest import Broker, unique
from groups_helpers import GROUPS_CONFIG, committed_offsets, end_offsets

CREATE_CONFIGS = {"cleanup.policy": "compact", "max.message.bytes": "200000",
                  "retention.ms": "3600000"}


@pytest.fixture(scope="module")
def broker(module_tmp):
    """One broker for the module: every test uses its own topics and groups."""
    b = Broker(module_tmp / "broker", groups=GROUPS_CONFIG).start()
    yield b
    b.teardown()


# -- confluent-kafka AdminClient ---------------------------------------------------------------

@pytest.mark.timeout(60)
def test_confluent_create_topic_with_configs_and_validate_only_creates_nothing(broker):
    """validate_only answers success for a valid request and creates nothing; an invalid
    config value is refused with INVALID_CONFIG; the real creation applies the configs, which
    DescribeConfigs then reports with source DYNAMIC_TOPIC_CONFIG, while a config not given
    is reported from a default source."""
    a = admin(broker.bootstrap)
    topic = unique("adm-create")
    create(a, topic, 2, CREATE_CONFIGS, validate_only=True)
    assert partition_count(broker.bootstrap, topic) is None, "validate_only created the topic"

    with pytest.raises(KafkaException) as exc:
        create(a, topic, 2, {"cleanup.policy": "sometimes"}, validate_only=True)
    assert error_code(exc) == KafkaError.INVALID_CONFIG

    create(a, topic, 2, CREATE_CONFIGS)
    assert partition_count(broker.bootstrap, topic) == 2
    configs = describe_topic_configs(a, topic)
    for name, value in CREATE_CONFIGS.items():
        assert configs[name].value == value, (name, configs[name].value)
        assert source(configs[name]) == ConfigSource.DYNAMIC_TOPIC_CONFIG, (name, configs[name])
    for name in ("segment.bytes", "delete.retention.ms", "min.compaction.lag.ms"):
        assert name in configs, f"DescribeConfigs does not list {name}: {sorted(configs)}"
        assert source(configs[name]) != ConfigSource.DYNAMIC_TOPIC_CONFIG, (name, configs[name])
        assert configs[name].value is not None, name
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_confluent_alter_configs_incremental_keeps_others_and_legacy_replaces_the_set(broker):
    """IncrementalAlterConfigs changes only the named configs (SET, APPEND to the
    cleanup.policy list, DELETE back to the default); the legacy AlterConfigs replaces the
    topic's whole set of dynamic configs, so configs it does not name return to defaults."""
    a = admin(broker.bootstrap)
    topic = unique("adm-alter")
    create(a, topic, 1, {"retention.ms": "3600000"})
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", "300000", incremental_operation=AlterConfigOpType.SET),
    ])
    a.incremental_alter_configs([res])[res].result(ADMIN_S_MAX)
    configs = describe_topic_configs(a, topic)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["max.message.bytes"].value == "300000"
    assert configs["retention.ms"].value == "3600000", "an incremental alter dropped a config"
    assert source(configs["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG

    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.APPEND),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
    ])
    a.incremental_alter_configs([res])[res].result(ADMIN_S_MAX)
    configs = describe_topic_configs(a, topic)
    assert sorted(configs["cleanup.policy"].value.split(",")) == ["compact", "delete"], (
        configs["cleanup.policy"].value)
    assert source(configs["retention.ms"]) != ConfigSource.DYNAMIC_TOPIC_CONFIG, (
        "DELETE left retention.ms set on the topic")
    assert configs["retention.ms"].value != "3600000"

    res = ConfigResource(ResourceType.TOPIC, topic,
                         set_config={"retention.ms": "7200000", "max.message.bytes": "400000"})
    a.alter_configs([res])[res].result(ADMIN_S_MAX)
    configs = describe_topic_configs(a, topic)
    assert configs["retention.ms"].value == "7200000"
    assert configs["max.message.bytes"].value == "400000"
    assert source(configs["cleanup.policy"]) != ConfigSource.DYNAMIC_TOPIC_CONFIG, (
        "legacy AlterConfigs kept a config it did not name")
    assert configs["cleanup.policy"].value == "delete"

    bad = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("cleanup.policy", "sometimes", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as exc:
        a.incremental_alter_configs([bad])[bad].result(ADMIN_S_MAX)
    assert error_code(exc) == KafkaError.INVALID_CONFIG
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_confluent_create_partitions_adds_partitions_that_clients_use(broker):
    """CreatePartitions grows a topic: metadata shows the new count, a producer writes to the
    new partition; shrinking is refused with INVALID_PARTITIONS."""
    a = admin(broker.bootstrap)
    topic = unique("adm-partitions")
    create(a, topic, 2)
    a.create_partitions([NewPartitions(topic, 4)], operation_timeout=ADMIN_S_MAX,
                        request_timeout=ADMIN_S_MAX)[topic].result(ADMIN_S_MAX)
    assert partition_count(broker.bootstrap, topic) == 4
    reports = produce_all(broker.bootstrap, topic, [Record(b"k", b"in the new partition")],
                          partition=3)
    assert (reports[0].partition, reports[0].offset) == (3, 0)

    with pytest.raises(KafkaException) as exc:
        a.create_partitions([NewPartitions(topic, 3)], request_timeout=ADMIN_S_MAX)[
            topic].result(ADMIN_S_MAX)
    assert error_code(exc) == KafkaError.INVALID_PARTITIONS
    assert partition_count(broker.bootstrap, topic) == 4
    broker.assert_healthy()


@pytest.mark.timeout(90)
def test_confluent_list_describe_and_delete_consumer_groups(broker):
    """A group with an active member is Stable, described with that member and its
    partitions, and cannot be deleted (NON_EMPTY_GROUP); once the member committed and closed
    the group is listed as Empty with its offsets; deleting it removes it and its offsets."""
    a = admin(broker.bootstrap)
    topic = unique("adm-groups")
    create(a, topic, 2)
    produce_all(broker.bootstrap, topic, [Record(f"k{i}".encode(), b"v") for i in range(10)])
    group = unique("adm-g")
    c = active_consumer(broker.bootstrap, topic, group)
    try:
        consume_n(c, 10)
        desc = a.describe_consumer_groups([group], request_timeout=ADMIN_S_MAX)[group].result(
            ADMIN_S_MAX)
        assert desc.state == ConsumerGroupState.STABLE, desc.state
        assert not desc.is_simple_consumer_group
        assert len(desc.members) == 1, desc.members
        assert desc.members[0].client_id == f"{group}-member"
        assert sorted(tp.partition for tp in desc.members[0].assignment.topic_partitions) == [
            0, 1]
        assert desc.coordinator.port == broker.port(), desc.coordinator

        with pytest.raises(KafkaException) as exc:
            a.delete_consumer_groups([group], request_timeout=ADMIN_S_MAX)[group].result(
                ADMIN_S_MAX)
        assert error_code(exc) == KafkaError.NON_EMPTY_GROUP
    finally:
        c.close()

    listed = {g.group_id: g for g in
              a.list_consumer_groups(request_timeout=ADMIN_S_MAX).result(ADMIN_S_MAX).valid}
    assert group in listed, sorted(listed)
    assert listed[group].state == ConsumerGroupState.EMPTY, listed[group].state
    desc = a.describe_consumer_groups([group], request_timeout=ADMIN_S_MAX)[group].result(
        ADMIN_S_MAX)
    assert desc.state == ConsumerGroupState.EMPTY and not desc.members, (desc.state,
                                                                          desc.members)
    offsets = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                            request_timeout=ADMIN_S_MAX)[group].result(
        ADMIN_S_MAX)
    committed = {tp.partition: tp.offset for tp in offsets.topic_partitions
                 if tp.topic == topic}
    assert committed == end_offsets(broker.bootstrap, topic, 2), committed

    a.delete_consumer_groups([group], request_timeout=ADMIN_S_MAX)[group].result(ADMIN_S_MAX)
    listed = {g.group_id for g in
              a.list_consumer_groups(request_timeout=ADMIN_S_MAX).result(ADMIN_S_MAX).valid}
    assert group not in listed
    assert all(o < 0 for o in committed_offsets(broker.bootstrap, group, topic, 2).values()), (
        "a deleted group still has committed offsets")
    with pytest.raises(KafkaException) as exc:
        a.delete_consumer_groups([group], request_timeout=ADMIN_S_MAX)[group].result(
            ADMIN_S_MAX)
    assert error_code(exc) == KafkaError.GROUP_ID_NOT_FOUND
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_confluent_delete_records_moves_the_low_watermark_and_consumers_start_there(broker):
    """DeleteRecords up to offset 20 of 50 answers low watermark 20; ListOffsets earliest
    then says 20, a consumer reading from the beginning gets offsets 20..49 with their
    content; deleting past the high watermark is refused with OFFSET_OUT_OF_RANGE."""
    a = admin(broker.bootstrap)
    topic = unique("adm-delete-records")
    create(a, topic, 1)
    reports = produce_all(broker.bootstrap, topic,
                          [Record(f"k{i}".encode(), f"v{i}".encode()) for i in range(50)],
                          partition=0)
    tp = TopicPartition(topic, 0, 20)
    deleted = a.delete_records([tp], request_timeout=ADMIN_S_MAX,
                               operation_timeout=ADMIN_S_MAX)[tp].result(ADMIN_S_MAX)
    assert deleted.low_watermark == 20

    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10,
                                       cached=False) == (20, 50)
    finally:
        c.close()
    got = consume_all(broker.bootstrap, topic, 1)
    assert [s.offset for s in got] == list(range(20, 50))
    assert [s.record.value for s in got] == [r.record.value for r in reports[20:]]

    beyond = TopicPartition(topic, 0, 51)
    with pytest.raises(KafkaException) as exc:
        a.delete_records([beyond], request_timeout=ADMIN_S_MAX)[beyond].result(ADMIN_S_MAX)
    assert error_code(exc) == KafkaError.OFFSET_OUT_OF_RANGE
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_confluent_describe_cluster_names_this_broker_as_node_and_controller(broker):
    """DescribeCluster lists one node, this broker's listener, which is also the controller;
    the cluster id is the one Metadata reports."""
    a = admin(broker.bootstrap)
    cluster = a.describe_cluster(request_timeout=ADMIN_S_MAX).result(ADMIN_S_MAX)
    assert len(cluster.nodes) == 1, cluster.nodes
    node = cluster.nodes[0]
    assert (node.host, node.port) == ("127.0.0.1", broker.port()), node
    assert cluster.controller is not None and cluster.controller.id == node.id
    assert cluster.cluster_id
    md = a.list_topics(timeout=ADMIN_S_MAX)
    assert md.cluster_id == cluster.cluster_id
    assert md.controller_id == node.id
    broker.assert_healthy()


# -- kafka-python KafkaAdminClient -------------------------------------------------------------

@pytest.mark.timeout(60)
def test_kafka_python_create_topic_describe_and_alter_configs(broker):
    """kafka-python: validate_only creates nothing; the created topic's configs are described
    with their values and DYNAMIC_TOPIC_CONFIG source; IncrementalAlterConfigs SET and APPEND
    apply; the legacy AlterConfigs path (which kafka-python fills with the topic's other
    dynamic configs) applies too; reset_configs returns a config to its default."""
    from kafka.admin import AlterConfigOp, ConfigResource as KConfigResource

    a = kafka_python_admin(broker.bootstrap)
    try:
        topic = unique("kp-create")
        spec = {topic: {"num_partitions": 2, "replication_factor": 1,
                        "configs": {"retention.ms": "3600000", "max.message.bytes": "200000"}}}
        a.create_topics(spec, validate_only=True)
        assert topic not in a.list_topics()
        a.create_topics(spec)
        assert partition_count(broker.bootstrap, topic) == 2

        def describe() -> dict:
            got = a.describe_configs([KConfigResource("TOPIC", topic)], config_filter="all")
            return got["topic"][topic]

        configs = describe()
        assert configs["retention.ms"]["value"] == "3600000"
        assert configs["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        assert configs["cleanup.policy"]["config_source"] != "DYNAMIC_TOPIC_CONFIG"

        result = a.alter_configs([KConfigResource("TOPIC", topic, {
            "retention.ms": "7200000",
            "cleanup.policy": (AlterConfigOp.APPEND, "compact"),
        })], incremental=True)
        assert result == {"topic": {topic: "OK"}}, result
        configs = describe()
        assert configs["retention.ms"]["value"] == "7200000"
        assert sorted(configs["cleanup.policy"]["value"].split(",")) == ["compact", "delete"]
        assert configs["max.message.bytes"]["value"] == "200000"

        result = a.alter_configs([KConfigResource("TOPIC", topic, {
            "max.message.bytes": "300000"})], incremental=False)
        assert result == {"topic": {topic: "OK"}}, result
        configs = describe()
        assert configs["max.message.bytes"]["value"] == "300000"
        assert configs["retention.ms"]["value"] == "7200000"

        result = a.reset_configs([KConfigResource("TOPIC", topic, ["retention.ms"])])
        assert result == {"topic": {topic: "OK"}}, result
        assert describe()["retention.ms"]["config_source"] != "DYNAMIC_TOPIC_CONFIG"
    finally:
        a.close()
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_kafka_python_create_partitions_and_delete_records(broker):
    """kafka-python: create_partitions grows a topic to 4; delete_records moves partition 0's
    low watermark, which ListOffsets earliest then reports."""
    from kafka import TopicPartition as KTopicPartition
    from kafka.admin import OffsetSpec

    a = kafka_python_admin(broker.bootstrap)
    try:
        topic = unique("kp-partitions")
        a.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}})
        a.create_partitions({topic: 4})
        assert partition_count(broker.bootstrap, topic) == 4

        produce_all(broker.bootstrap, topic, [Record(b"k", f"v{i}".encode())
                                              for i in range(30)], partition=0)
        tp = KTopicPartition(topic, 0)
        deleted = a.delete_records({tp: 12})
        assert tp in deleted, deleted
        assert deleted[tp]["low_watermark"] == 12, deleted
        earliest = a.list_partition_offsets({tp: OffsetSpec.EARLIEST})
        latest = a.list_partition_offsets({tp: OffsetSpec.LATEST})
        assert (earliest[tp].offset, latest[tp].offset) == (12, 30)
    finally:
        a.close()
    got = consume_all(broker.bootstrap, topic, 4)
    assert [s.offset for s in got if s.partition == 0] == list(range(12, 30))
    broker.assert_healthy()


@pytest.mark.timeout(90)
def test_kafka_python_list_describe_and_delete_groups_and_their_offsets(broker):
    """kafka-python: a group left Empty by a consumer that committed and closed is listed and
    described (no members, protocol type consumer); its committed offsets are listed;
    OffsetDelete removes one partition's offset; DeleteGroups removes the group."""
    from kafka import TopicPartition as KTopicPartition

    topic = unique("kp-groups")
    a = kafka_python_admin(broker.bootstrap)
    try:
        a.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}})
        group = group_left_behind(broker.bootstrap, topic, 2, 20)

        listed = {g["group_id"]: g for g in a.list_groups()}
        assert group in listed, sorted(listed)
        assert listed[group]["protocol_type"] == "consumer"
        if "group_state" in listed[group]:
            assert listed[group]["group_state"] == "Empty", listed[group]

        desc = a.describe_groups([group])[group]
        assert desc["error"] is None, desc
        assert desc["group_state"] == "Empty" and desc["members"] == [], desc
        assert desc["protocol_type"] == "consumer"

        offsets = a.list_group_offsets(group)[group]
        ends = end_offsets(broker.bootstrap, topic, 2)
        assert {tp.partition: om.offset for tp, om in offsets.items()
                if tp.topic == topic} == ends

        tp0 = KTopicPartition(topic, 0)
        errors = a.delete_group_offsets(group, [tp0])
        assert errors[tp0].__name__ == "NoError", errors
        offsets = a.list_group_offsets(group)[group]
        assert {tp.partition: om.offset for tp, om in offsets.items()
                if tp.topic == topic and om.offset >= 0} == {1: ends[1]}

        assert a.delete_groups([group]) == {group: "OK"}
        assert group not in {g["group_id"] for g in a.list_groups()}
    finally:
        a.close()
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_kafka_python_describe_cluster(broker):
    """kafka-python: describe_cluster names one broker, this one, as broker and controller."""
    a = kafka_python_admin(broker.bootstrap)
    try:
        cluster = a.describe_cluster()
    finally:
        a.close()
    brokers = cluster["brokers"]
    assert len(brokers) == 1, brokers
    assert (brokers[0]["host"], brokers[0]["port"]) == ("127.0.0.1", broker.port())
    assert cluster["controller_id"] == brokers[0]["broker_id"]
    assert cluster["cluster_id"]
    broker.assert_healthy()
