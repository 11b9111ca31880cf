"""Consumer groups with five real clients: kcat's balanced consumer (-G), confluent-kafka,
kafka-python, aiokafka and kafkajs. Each test runs the scenario of groups_helpers.py with its
client doing everything (producing the keyed messages, joining, consuming, committing): two
members share a 4-partition topic, one leaves cleanly and rejoins mid-run (the assignment
spreads over both again), both stop, more is produced, and the restarted members resume from
the committed offsets.

What each asserts (see group_clients.py for the commit policies):
  - no message lost, keys stay in their partition, the assignment split between both members
    after every rebalance, everything committed at the clean stop and the restart resuming
    exactly there;
  - exactly once for the clients that commit synchronously before consuming more
    (confluent-kafka, kafka-python, aiokafka, kafkajs);
  - at least once for kcat, whose only commit mode is librdkafka's background auto-commit
    (duplicates are reported, not failed: the client's contract allows them).
"""

from __future__ import annotations

import pytest

from conftest import Broker
from group_clients import (AiokafkaMember, ConfluentMember, KafkajsMember, KafkaPythonMember,
                           KcatMember, aiokafka_produce, confluent_produce, kafka_python_produce,
                           kafkajs_produce, kcat_produce)
from groups_helpers import GROUPS_CONFIG, run_group_scenario


@pytest.fixture(scope="module")
def broker(module_tmp):
    """One broker for the module, its coordinator without an initial rebalance delay: each
    test has its own topic and group."""
    b = Broker(module_tmp / "broker", groups=GROUPS_CONFIG).start()
    yield b
    b.teardown()


def members(cls, bootstrap: str):
    return lambda name, topic, group: cls(name, topic, group, bootstrap)


def run_healthy(broker, client: str, produce, member_cls, exactly_once: bool):
    """Runs the group scenario with `client`'s producer and members, then checks the broker
    logged nothing unhealthy meanwhile."""
    mark = broker.log_mark()
    run = run_group_scenario(broker, client, produce=produce,
                             make_member=members(member_cls, broker.bootstrap),
                             exactly_once=exactly_once)
    broker.assert_healthy(since=mark)
    return run


@pytest.mark.timeout(180)
def test_kcat_balanced_consumers_split_partitions_and_resume_after_restart_at_least_once(
        broker, tmp_path):
    run = run_healthy(broker, "kcat", kcat_produce(broker.bootstrap, tmp_path), KcatMember,
                      exactly_once=False)
    print(f"kcat: {run.duplicates} duplicate deliveries (allowed), spreads {run.spreads}")


@pytest.mark.timeout(180)
def test_confluent_group_members_split_partitions_and_resume_from_commits_exactly_once(broker):
    run_healthy(broker, "confluent", confluent_produce(broker.bootstrap), ConfluentMember,
                exactly_once=True)


@pytest.mark.timeout(180)
def test_kafka_python_group_members_split_partitions_and_resume_from_commits_exactly_once(
        broker):
    run_healthy(broker, "kafka-python", kafka_python_produce(broker.bootstrap), KafkaPythonMember,
                exactly_once=True)


@pytest.mark.timeout(180)
def test_aiokafka_group_members_split_partitions_and_resume_from_commits_exactly_once(broker):
    run_healthy(broker, "aiokafka", aiokafka_produce(broker.bootstrap), AiokafkaMember,
                exactly_once=True)


@pytest.mark.timeout(180)
def test_kafkajs_group_members_split_partitions_and_resume_from_commits_exactly_once(broker):
    run_healthy(broker, "kafkajs", kafkajs_produce(broker.bootstrap), KafkajsMember,
                exactly_once=True)
