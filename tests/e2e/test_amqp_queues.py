"""The AMQP 1.0 address model (issue 5, Artemis semantics) through python-qpid-proton: anycast
queues share their messages among receivers, multicast addresses copy each message to every
subscriber, declared addresses and the built-in ones are there from the start, and the admin
API counts what happened.
"""

from __future__ import annotations

import pytest
from proton import Message

from amqp_clients import (DEAD_LETTER_QUEUE, EXPIRY_QUEUE, Capability, ReceiverThread,
                          bodies, connection, declared, module_broker, numbered, queue, queues_of,
                          receiver, run_in_threads, seed_batches, send, send_to, take_accept,
                          wait_queue, assert_nothing_arrives)
from conftest import unique

DECLARED = (
    declared("orders", "anycast")
    + declared("prices", "multicast", [
        {"name": "prices.audit", "max-consumers": 1},
        {"name": "prices.board", "durable": False, "exclusive": True}])
    + declared("scratch", "anycast", [{"max-consumers": 5, "purge-on-no-consumers": True}]))


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp, DECLARED)


@pytest.mark.timeout(120)
def test_seeds_scenario_one_receiver_takes_one_another_takes_nineteen_all_counted(broker):
    """The ActiveMQ Artemis tutorial's run: two producers send 10 messages of 10 bytes each
    to an anycast queue; receiver A takes one, receiver B the other nineteen; with both still
    attached the queue counts 20 added, 20 acknowledged, none left, two consumers."""
    sent = seed_batches()
    run_in_threads([
        lambda batch=batch: send_to(broker, "queue://demoQueue",
                                    [Message(body=b) for b in batch])
        for batch in sent])

    with connection(broker) as conn_a, connection(broker) as conn_b:
        got_a = take_accept(receiver(conn_a, "queue://demoQueue"), 1)
        got_b = take_accept(receiver(conn_b, "queue://demoQueue"), 19)
        assert sorted(bodies(got_a + got_b)) == sorted(b for batch in sent for b in batch)
        q = wait_queue(broker, "demoQueue", pump_while=(conn_a, conn_b), messages_added=20,
                       messages_acknowledged=20, message_count=0, consumer_count=2,
                       delivering_count=0)
        assert (q["address"], q["routing"]) == ("demoQueue", "anycast"), q
    wait_queue(broker, "demoQueue", consumer_count=0)


@pytest.mark.timeout(120)
def test_competing_receivers_share_a_queue_and_get_every_message_exactly_once(broker):
    name = unique("compete")
    n = 200
    threads: list[ReceiverThread] = []

    def enough(_: ReceiverThread) -> bool:
        return sum(len(t.got) for t in threads) >= n

    threads += [ReceiverThread(broker, f"queue://{name}", credit=10, enough=enough)
                for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.wait_attached()
    send_to(broker, f"queue://{name}", numbered(name, n))
    shares = [t.finish() for t in threads]

    assert all(shares), f"a receiver got nothing: shares of {[len(s) for s in shares]}"
    everything = shares[0] + shares[1]
    assert len(everything) == n, f"{len(everything)} deliveries for {n} messages"
    assert sorted(everything) == sorted(bodies(numbered(name, n))), "a message missing or twice"
    wait_queue(broker, name, messages_added=n, messages_acknowledged=n, message_count=0,
               delivering_count=0, consumer_count=0)


@pytest.mark.timeout(120)
def test_every_subscriber_of_a_multicast_address_gets_every_message_in_order(broker):
    name = unique("news")
    n = 50
    threads = [ReceiverThread(broker, f"topic://{name}", credit=10,
                              enough=lambda t: len(t.got) >= n) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.wait_attached()
    subscriptions = queues_of(broker, name)
    assert sorted((q["routing"], q["consumer_count"]) for q in subscriptions) == [
        ("multicast", 1), ("multicast", 1)], f"one queue per subscriber: {subscriptions}"
    send_to(broker, f"topic://{name}", numbered(name, n))
    for t in threads:
        assert t.finish() == bodies(numbered(name, n))


@pytest.mark.timeout(60)
def test_queue_capability_makes_a_bare_address_anycast(broker):
    name = unique("capq")
    with connection(broker) as conn:
        send(conn, name, numbered(name, 2), options=Capability("queue"))
        r1 = receiver(conn, name, options=Capability("queue"))
        r2 = receiver(conn, name, options=Capability("queue"))
        first, second = take_accept(r1, 1) + take_accept(r2, 1)
        assert sorted([first.body, second.body]) == bodies(numbered(name, 2))
        assert_nothing_arrives(r1, why="anycast: each message goes to one receiver")
    q = wait_queue(broker, name, messages_added=2, messages_acknowledged=2)
    assert q["routing"] == "anycast", q


@pytest.mark.timeout(60)
def test_topic_capability_makes_a_bare_address_multicast(broker):
    name = unique("capt")
    with connection(broker) as conn:
        subscribers = [receiver(conn, name, options=Capability("topic")) for _ in range(2)]
        subscriptions = queues_of(broker, name)
        assert [q["routing"] for q in subscriptions] == ["multicast", "multicast"], subscriptions
        send(conn, name, numbered(name, 1), options=Capability("topic"))
        for s in subscribers:
            assert bodies(take_accept(s, 1)) == [f"{name}-0"]


@pytest.mark.timeout(60)
def test_declared_addresses_and_the_builtin_ones_exist_before_any_client(broker):
    expected = {
        "orders": {"address": "orders", "routing": "anycast", "durable": True,
                   "exclusive": False, "max_consumers": -1, "purge_on_no_consumers": False},
        "prices.audit": {"address": "prices", "routing": "multicast", "durable": True,
                         "exclusive": False, "max_consumers": 1,
                         "purge_on_no_consumers": False},
        "prices.board": {"address": "prices", "routing": "multicast", "durable": False,
                         "exclusive": True, "max_consumers": -1,
                         "purge_on_no_consumers": False},
        "scratch": {"address": "scratch", "routing": "anycast", "durable": True,
                    "exclusive": False, "max_consumers": 5, "purge_on_no_consumers": True},
        DEAD_LETTER_QUEUE: {"address": DEAD_LETTER_QUEUE, "routing": "anycast"},
        EXPIRY_QUEUE: {"address": EXPIRY_QUEUE, "routing": "anycast"},
    }
    for name, attributes in expected.items():
        q = queue(broker, name)
        assert q is not None, f"queue {name} missing from /api/queues"
        assert {k: q[k] for k in attributes} == attributes, q
        assert q["temporary"] is False, q


@pytest.mark.timeout(60)
def test_a_message_to_a_multicast_address_reaches_each_of_its_queues_and_fqqn_reads_one(broker):
    """`ADDRESS::QUEUE` names one queue of an address: sent to `prices`, a message is copied
    to both declared queues, and a receiver on `prices::prices.audit` reads that copy only."""
    tag = unique("price")
    before = {name: queue(broker, name)["messages_added"]
              for name in ("prices.audit", "prices.board")}
    send_to(broker, "topic://prices", [Message(body=tag)])
    for name in ("prices.audit", "prices.board"):
        wait_queue(broker, name, messages_added=before[name] + 1)
    with connection(broker) as conn:
        r = receiver(conn, "prices::prices.audit")
        assert bodies(take_accept(r, 1)) == [tag]
        assert_nothing_arrives(r)
    wait_queue(broker, "prices.audit", message_count=0)
    q = wait_queue(broker, "prices.board", message_count=1)
    assert q["messages_acknowledged"] == 0, q
