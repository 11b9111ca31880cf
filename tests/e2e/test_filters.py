"""Filters as plugins (issue 6): the selector filter (JMS / Artemis selectors) and the match
filter, against real clients.

Consumers' selectors arrive over AMQP as the `apache.org:selector-filter:string` filter on a
receiver's source; the broker echoes the filters it applied in its attach. Address settings
attach a filter on publish (`publish-filter`) or on delivery (`delivery-filter`), and a queue
may carry its own (`filter`, a selector).
"""

from __future__ import annotations

import pytest
from proton import Message
from proton.reactor import Selector

from amqp_clients import (ReceiverThread, amqp_broker, assert_nothing_arrives, bodies,
                          connection, declared, queue, receiver, send_to, take_accept,
                          wait_queue)
from clients import Record, produce_all
from policy_helpers import settings, with_props

SELECTOR = "color = 'red' AND weight > 2.5"


def catalogue() -> list[Message]:
    """Ten messages; m0, m3, m6, m7 and m9 match SELECTOR."""
    shapes = [("red", 3.0), ("red", 1.0), ("blue", 9.5)]
    return [with_props(f"m{i}", color=shapes[i % 3][0], weight=shapes[i % 3][1] + i // 3)
            for i in range(10)]


def test_a_selector_delivers_only_matching_messages_and_leaves_the_rest(make_broker):
    address = "sel.orders"
    b = amqp_broker(make_broker, extra=declared(address, "anycast"))
    send_to(b, address, catalogue())
    with connection(b) as conn:
        picky = receiver(conn, address, credit=20, options=Selector(SELECTOR))
        got = bodies(take_accept(picky, 5))
        assert got == ["m0", "m3", "m6", "m7", "m9"], got
        assert_nothing_arrives(picky, why="only five messages match the selector")
        filters = picky.link.remote_source.filter
        filters.rewind()
        filters.next()
        echoed = filters.get_object()
        assert any(SELECTOR in str(v) for v in echoed.values()), (
            f"the attach echoes the selector in place: {echoed}")
    with connection(b) as conn:
        everyone = receiver(conn, address, credit=20)
        assert bodies(take_accept(everyone, 5)) == ["m1", "m2", "m4", "m5", "m8"]
    wait_queue(b, address, message_count=0, messages_acknowledged=10)


def test_competing_consumers_with_disjoint_selectors_split_a_queue_exactly(make_broker):
    address = "sel.split"
    b = amqp_broker(make_broker, extra=declared(address, "anycast"))
    reds = ReceiverThread(b, address, 10, lambda t: len(t.got) >= 20,
                          options=Selector("color = 'red'"))
    others = ReceiverThread(b, address, 10, lambda t: len(t.got) >= 20,
                            options=Selector("color <> 'red' OR color IS NULL"))
    for t in (reds, others):
        t.start()
        t.wait_attached()
    send_to(b, address, [with_props(f"r{i}", color="red") for i in range(20)]
            + [with_props(f"b{i}", color="blue") for i in range(10)]
            + [Message(body=f"n{i}") for i in range(10)])
    assert reds.finish() == [f"r{i}" for i in range(20)]
    assert others.finish() == [f"b{i}" for i in range(10)] + [f"n{i}" for i in range(10)]


def test_a_selector_on_a_topic_reads_kafka_headers(make_broker):
    topic = "sel.metrics"
    b = amqp_broker(make_broker)
    with connection(b) as conn:
        r = receiver(conn, f"topic://{topic}", credit=20, options=Selector("weight > 2.5"))
        produce_all(b.bootstrap, topic, [
            Record(None, f"k{i}".encode(), headers=(("weight", str(1.0 + i).encode()),))
            for i in range(5)])
        assert bodies(take_accept(r, 3)) == [b"k2", b"k3", b"k4"]
        assert_nothing_arrives(r)


def test_an_invalid_selector_refuses_the_link_with_invalid_field(make_broker):
    address = "sel.bad"
    b = amqp_broker(make_broker, extra=declared(address, "anycast"))
    with connection(b) as conn:
        with pytest.raises(Exception) as refused:
            r = receiver(conn, address, credit=1, options=Selector("color = "))
            r.receive(timeout=5)
        assert "invalid-field" in str(refused.value), str(refused.value)


def test_a_publish_filter_stores_only_what_it_keeps(make_broker):
    address = "eu.orders"
    b = amqp_broker(make_broker, extra=declared(address, "anycast")
                    + settings("eu.#", publish_filter={"plugin": "match",
                                                       "config": "region=eu"}))
    send_to(b, address, [with_props(f"m{i}", region="eu" if i % 2 == 0 else "us")
                         for i in range(10)])
    assert queue(b, address)["messages_added"] == 5
    with connection(b) as conn:
        r = receiver(conn, address, credit=20)
        assert bodies(take_accept(r, 5)) == [f"m{i}" for i in range(0, 10, 2)]


def test_a_queue_filter_drops_on_delivery_and_counts_them(make_broker):
    address = "vip.q"
    b = amqp_broker(make_broker, extra=declared(address, "anycast",
                                                [{"filter": "tier IN ('gold', 'platinum')"}]))
    tiers = ["gold", "silver", "platinum", "bronze"]
    send_to(b, address, [with_props(f"m{i}", tier=tiers[i % 4]) for i in range(8)])
    with connection(b) as conn:
        r = receiver(conn, address, credit=20)
        assert bodies(take_accept(r, 4)) == ["m0", "m2", "m4", "m6"]
        assert_nothing_arrives(r)
    wait_queue(b, address, message_count=0, messages_filtered=4)
