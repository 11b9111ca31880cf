"""Delivery policies kept by the host (issue 6): message groups, last-value queues, scheduled
delivery and ring queues, driven by AMQP clients.

AMQP fields map onto the host's reserved headers: `properties.group-id` is the message group,
the application property `_AMQ_LVQ_NAME` the last-value key, the message annotations
`x-opt-delivery-time` / `x-opt-delivery-delay` the schedule (Artemis's names).
"""

from __future__ import annotations

import time

from proton import Message, symbol

from amqp_clients import (ReceiverThread, amqp_broker, assert_nothing_arrives, bodies,
                          connection, declared, receiver, send, send_to, take_accept)

LVQ_KEY = "sluice-last-value"


def test_message_groups_stick_to_one_consumer_in_order(make_broker):
    address = "grp.orders"
    b = amqp_broker(make_broker, extra=declared(address, "anycast"))
    total = 40
    consumers: list[ReceiverThread] = []

    def everything_taken(_: ReceiverThread) -> bool:
        return sum(len(c.got) for c in consumers) >= total

    consumers += [ReceiverThread(b, address, 5, everything_taken) for _ in range(2)]
    for c in consumers:
        c.start()
        c.wait_attached()
    send_to(b, address, [Message(body=f"g{g}-{i}", group_id=f"g{g}")
                         for i in range(10) for g in range(4)])
    got = [c.finish() for c in consumers]
    owners: dict[str, int] = {}
    for who, messages in enumerate(got):
        for m in messages:
            group = m.split("-")[0]
            assert owners.setdefault(group, who) == who, f"group {group} went to both"
        for group in {m.split("-")[0] for m in messages}:
            seq = [int(m.split("-")[1]) for m in messages if m.startswith(group + "-")]
            assert seq == list(range(10)), f"group {group} out of order or incomplete: {seq}"
    assert len(owners) == 4


def test_a_last_value_queue_keeps_only_the_latest_message_per_key(make_broker):
    address = "prices"
    b = amqp_broker(make_broker, extra=declared(address, "anycast",
                                                [{"last-value-key": LVQ_KEY}]))
    ticks = [("AAPL", 1), ("MSFT", 1), ("AAPL", 2), ("AAPL", 3), ("MSFT", 2), ("IBM", 1)]
    send_to(b, address, [Message(body=f"{sym}:{v}", properties={"_AMQ_LVQ_NAME": sym})
                         for sym, v in ticks])
    with connection(b) as conn:
        r = receiver(conn, address, credit=10)
        assert bodies(take_accept(r, 3)) == ["AAPL:3", "MSFT:2", "IBM:1"]
        assert_nothing_arrives(r)


def test_scheduled_messages_arrive_no_earlier_than_their_time(make_broker):
    address = "later"
    b = amqp_broker(make_broker, extra=declared(address, "anycast"))
    delay_ms = 1500
    with connection(b) as conn:
        r = receiver(conn, address, credit=10)
        sent_at = time.time()
        at_ms = int(sent_at * 1000) + 2500
        send(conn, address, [
            Message(body="delayed", annotations={symbol("x-opt-delivery-delay"): delay_ms}),
            Message(body="at-time", annotations={symbol("x-opt-delivery-time"): at_ms}),
            Message(body="now"),
        ])
        arrivals = {}
        for _ in range(3):
            m = r.receive(timeout=15)
            r.accept()
            arrivals[m.body] = time.time()
    assert arrivals["now"] < arrivals["delayed"] < arrivals["at-time"]
    assert arrivals["delayed"] - sent_at >= delay_ms / 1000
    assert arrivals["at-time"] * 1000 >= at_ms


def test_a_ring_queue_keeps_its_newest_messages(make_broker):
    address = "ring.q"
    b = amqp_broker(make_broker, extra=declared(address, "anycast", [{"ring-size": 3}]))
    send_to(b, address, [Message(body=f"m{i}") for i in range(10)])
    with connection(b) as conn:
        r = receiver(conn, address, credit=10)
        assert bodies(take_accept(r, 3)) == ["m7", "m8", "m9"]
        assert_nothing_arrives(r)
