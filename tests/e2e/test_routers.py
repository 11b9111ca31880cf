"""Routing policies as plugins (issue 6): each built-in router against real clients.

An address's `router` setting names the router plugin that places every message sent through
the address model (AMQP here): its log partition and its anycast queues. Kafka producers choose
their own partitions and are not routed; a Kafka consumer reads where the router put AMQP
messages.
"""

from __future__ import annotations

import time

from proton import Message

from amqp_clients import (CLIENT_S_MAX, ReceiverThread, amqp_broker, bodies, connection,
                          declared, queue, receiver, send_to, take, take_accept,
                          wait_queue)
from clients import Record, consume_all, create_topic, produce_all
from policy_helpers import JAVA_MURMUR2, java_partition, keyed, settings

PARTITIONS = 6


def test_key_hash_router_places_keys_where_the_java_partitioner_does(make_broker):
    b = amqp_broker(make_broker, extra=settings("keyed.#", router="key-hash"))
    topic, twin = "keyed.orders", "keyed-twin"
    create_topic(b.bootstrap, topic, PARTITIONS)
    create_topic(b.bootstrap, twin, PARTITIONS)
    extra_keys = [f"customer-{i}".encode() for i in range(40)]
    keys = list(JAVA_MURMUR2) + extra_keys
    send_to(b, f"topic://{topic}", [keyed(f"m-{k.decode()}", k.decode()) for k in keys])
    placed = {s.record.key: s.partition
              for s in consume_all(b.bootstrap, topic, PARTITIONS)}
    assert set(placed) == set(keys), "every keyed message is in the topic once"
    for key in JAVA_MURMUR2:
        assert placed[key] == java_partition(key, PARTITIONS), (
            f"{key!r}: partition {placed[key]}, Java's partitioner says "
            f"{java_partition(key, PARTITIONS)}")
    # librdkafka's murmur2_random is the Java partitioner's twin: the same keys, produced by
    # Kafka clients, land in the same partitions as the router put them.
    reports = produce_all(b.bootstrap, twin, [Record(k, b"v") for k in keys],
                          partitioner="murmur2_random")
    java = {r.record.key: r.partition for r in reports}
    assert placed == java


def test_round_robin_router_spreads_an_anycast_address_evenly_over_its_queues(make_broker):
    address = "rr.spread"
    b = amqp_broker(make_broker, extra=declared(address, "anycast",
                                                [{"name": "rr-a"}, {"name": "rr-b"}]))
    send_to(b, address, [Message(body=f"m{i}") for i in range(10)])
    assert queue(b, "rr-a")["messages_added"] == 5
    assert queue(b, "rr-b")["messages_added"] == 5


def test_multicast_router_copies_each_message_to_every_anycast_queue(make_broker):
    address = "fan.out"
    b = amqp_broker(make_broker, extra=declared(address, "anycast",
                                                [{"name": "fan-a"}, {"name": "fan-b"}])
                    + settings("fan.#", router="multicast"))
    send_to(b, address, [Message(body=f"m{i}") for i in range(10)])
    for name in ("fan-a", "fan-b"):
        with connection(b) as conn:
            r = receiver(conn, f"{address}::{name}", credit=20)
            assert bodies(take_accept(r, 10)) == [f"m{i}" for i in range(10)]


def test_sharded_router_pins_a_message_group_to_one_shard_and_spreads_the_rest(make_broker):
    address = "shard.orders"
    shards = ["shard-0", "shard-1", "shard-2"]
    b = amqp_broker(make_broker, extra=declared(address, "anycast", [{"name": s} for s in shards])
                    + settings("shard.#", router="sharded"))
    grouped = [Message(body=f"g{g}-{i}", group_id=f"g{g}") for i in range(5) for g in range(6)]
    send_to(b, address, grouped)
    keyless = [Message(body=f"free-{i}") for i in range(30)]
    send_to(b, address, keyless)
    seen: dict[str, str] = {}
    free = {}
    for s in shards:
        n = queue(b, s)["messages_added"]
        with connection(b) as conn:
            r = receiver(conn, f"{address}::{s}", credit=100)
            got = bodies(take_accept(r, n))
        free[s] = sum(1 for x in got if x.startswith("free-"))
        for x in got:
            if x.startswith("g"):
                group = x.split("-")[0]
                assert seen.setdefault(group, s) == s, f"group {group} on two shards"
        in_order = [x for x in got if x.startswith("g")]
        for group in {x.split("-")[0] for x in in_order}:
            mine = [int(x.split("-")[1]) for x in in_order if x.startswith(group + "-")]
            assert mine == sorted(mine) and len(mine) == 5, f"group {group} on {s}: {mine}"
    assert len(seen) == 6
    assert sorted(free.values()) == [10, 10, 10], f"keyless spread: {free}"


def test_closest_router_prefers_queues_with_local_consumers(make_broker):
    address = "near.work"
    b = amqp_broker(make_broker, extra=declared(address, "anycast",
                                                [{"name": "near-a"}, {"name": "near-b"}])
                    + settings("near.#", router="closest"))
    with connection(b) as conn:
        r = receiver(conn, f"{address}::near-b", credit=20)
        send_to(b, address, [Message(body=f"m{i}") for i in range(10)])
        assert bodies(take_accept(r, 10)) == [f"m{i}" for i in range(10)]
    assert queue(b, "near-a")["messages_added"] == 0


def test_balanced_router_favours_the_consumer_with_fewest_unsettled_deliveries(make_broker):
    address = "work.balanced"
    b = amqp_broker(make_broker, extra=declared(address, "anycast")
                    + settings("work.#", router="balanced"))
    with connection(b) as slow_conn:
        slow = receiver(slow_conn, address, credit=10)
        send_to(b, address, [Message(body=f"early-{i}") for i in range(10)])
        held = take(slow, 10)  # left unsettled: the slow consumer holds 10 deliveries
        assert len(held) == 10
        fast = ReceiverThread(b, address, credit=50, enough=lambda t: len(t.got) >= 15)
        fast.start()
        fast.wait_attached()
        time.sleep(0.3)  # the fast consumer's link is open at the broker
        send_to(b, address, [Message(body=f"late-{i}") for i in range(20)])
        fast_got = fast.finish()
        assert len(fast_got) >= 15, (
            f"the consumer with no unsettled deliveries got {len(fast_got)} of 20")
        for _ in range(10):
            slow.accept()
        slow.flow(20)
        rest = 20 - len(fast_got)
        slow_got = bodies(take_accept(slow, rest, timeout_s=CLIENT_S_MAX))
        assert sorted(fast_got + slow_got) == sorted(f"late-{i}" for i in range(20))
    wait_queue(b, address, message_count=0)
