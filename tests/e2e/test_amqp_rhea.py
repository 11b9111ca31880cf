"""The AMQP 1.0 side with a second client library, rhea (Node.js), driven as child processes
(tests/node/rhea_client.js): the seeds' scenario with its counters, competing receivers,
multicast fan-out, released and rejected outcomes, and a durable queue across a restart.
"""

from __future__ import annotations

import pytest

import amqp_rhea
from amqp_clients import (DEAD_LETTER_QUEUE, amqp_broker, declared, module_broker, seed_batches,
                          wait_queue)
from conftest import unique


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp)


def texts(n: int, tag: str, **fields) -> list[dict]:
    return [{"body": f"{tag}-{i}", **fields} for i in range(n)]


def received(messages: list[dict]) -> list[str]:
    return [m["body"] for m in messages]


@pytest.mark.timeout(120)
def test_seeds_scenario_with_rhea_one_and_nineteen_of_twenty_counted(broker):
    batches = [[b.decode() for b in batch] for batch in seed_batches()]
    [result] = amqp_rhea.run(broker, "scenario", address="queue://rheaDemoQueue",
                             batches=batches, admin=broker.admin_url, queue="rheaDemoQueue")
    assert (len(result["a"]), len(result["b"])) == (1, 19), result
    assert sorted(result["a"] + result["b"]) == sorted(b for batch in batches for b in batch)
    q = result["queue"]
    assert q is not None, "rheaDemoQueue missing from /api/queues"
    assert {k: q[k] for k in ("messages_added", "messages_acknowledged", "message_count",
                              "consumer_count", "delivering_count", "routing")} == {
        "messages_added": 20, "messages_acknowledged": 20, "message_count": 0,
        "consumer_count": 2, "delivering_count": 0, "routing": "anycast"}, q


@pytest.mark.timeout(120)
def test_competing_rhea_receivers_get_every_message_exactly_once(broker):
    name = unique("rhea-compete")
    n = 200
    shares = amqp_rhea.receivers_while_sending(broker, f"queue://{name}", texts(n, name),
                                               receivers=2, credit=10, each=False)
    assert all(shares), f"a receiver got nothing: {[len(s) for s in shares]}"
    assert sorted(shares[0] + shares[1]) == sorted(received(texts(n, name)))
    wait_queue(broker, name, messages_acknowledged=n, message_count=0, delivering_count=0)


@pytest.mark.timeout(120)
def test_every_rhea_subscriber_of_a_multicast_address_gets_every_message(broker):
    name = unique("rhea-news")
    n = 50
    subscribers = amqp_rhea.receivers_while_sending(broker, f"topic://{name}", texts(n, name),
                                                    receivers=2, credit=10, each=True)
    assert subscribers == [received(texts(n, name))] * 2


@pytest.mark.timeout(60)
def test_message_released_by_rhea_is_redelivered_unchanged(broker):
    name = unique("rhea-released")
    amqp_rhea.send(broker, f"queue://{name}", texts(1, name))
    first, again = amqp_rhea.receive(broker, f"queue://{name}", 2, ["release", "accept"])
    assert again["body"] == first["body"] == f"{name}-0"
    assert again["deliveryCount"] == first["deliveryCount"] == 0, (first, again)
    wait_queue(broker, name, messages_acknowledged=1, message_count=0, delivering_count=0)


@pytest.mark.timeout(90)
def test_message_rejected_by_rhea_goes_to_the_dead_letter_queue(make_broker):
    broker = amqp_broker(make_broker)
    amqp_rhea.send(broker, "queue://rhea-rejecting", [{"body": "poison"}])
    assert received(amqp_rhea.receive(broker, "queue://rhea-rejecting", 1, ["reject"])) == [
        "poison"]
    assert received(amqp_rhea.receive(broker, f"queue://{DEAD_LETTER_QUEUE}", 2)) == ["poison"]
    assert amqp_rhea.receive(broker, "queue://rhea-rejecting", 1) == []


@pytest.mark.timeout(120)
def test_durable_queue_keeps_what_rhea_left_unacknowledged_across_a_restart(make_broker):
    broker = amqp_broker(make_broker, declared("rhea-jobs", "anycast"))
    sent = texts(10, "job", durable=True)
    amqp_rhea.send(broker, "queue://rhea-jobs", sent)
    assert received(amqp_rhea.receive(broker, "queue://rhea-jobs", 4)) == received(sent[:4])
    wait_queue(broker, "rhea-jobs", message_count=6, messages_acknowledged=4)
    broker.restart()
    rest = amqp_rhea.receive(broker, "queue://rhea-jobs", 7)
    assert received(rest) == received(sent[4:])
    assert all(m["durable"] for m in rest), rest
