"""What happens to an AMQP message after its first delivery (issue 5, Artemis semantics):
released messages come back unchanged, rejected and repeatedly failed ones go to the dead-letter
queue, expired ones to the expiry queue, unsettled ones return when their receiver goes away,
and a durable queue's unacknowledged messages survive a broker restart or crash.

Each test has its own broker, so that DLQ and ExpiryQueue hold exactly what the test put there.
"""

from __future__ import annotations

import pytest
from proton import Message

import amqp_wire
from amqp_clients import (DEAD_LETTER_QUEUE, EXPIRY_QUEUE, amqp_broker, assert_nothing_arrives,
                          bodies, close_quietly, connect, connection, declared, fail_delivery,
                          receiver, reject, release, send_to, take, take_accept, wait_queue)

MAX_DELIVERY_ATTEMPTS = 3
FAILING_SETTINGS = f"""
[[address-settings]]
match = "orders.#"
max-delivery-attempts = {MAX_DELIVERY_ATTEMPTS}
redelivery-delay-ms = 0
"""

DURABLE_QUEUE = declared("jobs", "anycast")

# A TTL short enough to pass during the test, long enough to outlast the send's round trip.
TTL_S = 0.5
# Expiry runs without a consumer "within about 1-2 s" of the TTL passing.
EXPIRY_S_MAX = 5.0


@pytest.mark.timeout(60)
def test_released_message_is_redelivered_to_another_receiver_with_same_content_and_count(
        make_broker):
    broker = amqp_broker(make_broker)
    sent = Message(body="released-once", subject="s", properties={"k": "v", "n": 7})
    send_to(broker, "queue://released", [sent])
    with connection(broker) as conn_a, connection(broker) as conn_b:
        a = receiver(conn_a, "queue://released")
        [first] = take(a, 1)
        release(a)
        [again] = take_accept(receiver(conn_b, "queue://released"), 1)
        assert (again.body, again.subject, again.properties) == (
            sent.body, sent.subject, sent.properties)
        assert again.delivery_count == first.delivery_count == 0, (
            "released is not a failed attempt: the delivery count stays")
        wait_queue(broker, "released", pump_while=(conn_a, conn_b), messages_added=1,
                   messages_acknowledged=1, message_count=0, delivering_count=0)
        assert_nothing_arrives(a, why="the released message was delivered twice")


@pytest.mark.timeout(60)
def test_rejected_message_goes_to_the_dead_letter_queue(make_broker):
    broker = amqp_broker(make_broker)
    send_to(broker, "queue://rejecting", [Message(body="poison")])
    with connection(broker) as conn:
        r = receiver(conn, "queue://rejecting")
        take(r, 1)
        reject(r)
        assert_nothing_arrives(r, why="a rejected message is not redelivered")
        wait_queue(broker, DEAD_LETTER_QUEUE, pump_while=(conn,), message_count=1)
        assert bodies(take_accept(receiver(conn, f"queue://{DEAD_LETTER_QUEUE}"), 1)) == ["poison"]
    wait_queue(broker, "rejecting", message_count=0, delivering_count=0)


@pytest.mark.timeout(60)
def test_message_failed_max_delivery_attempts_times_is_dead_lettered_and_counted_killed(
        make_broker):
    broker = amqp_broker(make_broker, FAILING_SETTINGS)
    send_to(broker, "queue://orders.failing", [Message(body="fails-every-time")])
    with connection(broker) as conn:
        r = receiver(conn, "queue://orders.failing")
        counts = []
        for _ in range(MAX_DELIVERY_ATTEMPTS):
            [m] = take(r, 1)
            assert m.body == "fails-every-time"
            counts.append(m.delivery_count)
            fail_delivery(r)
        assert counts == list(range(MAX_DELIVERY_ATTEMPTS)), (
            f"each failed attempt adds one to the delivery count: {counts}")
        assert_nothing_arrives(r, why=f"delivered after {MAX_DELIVERY_ATTEMPTS} failed attempts")
        q = wait_queue(broker, "orders.failing", pump_while=(conn,), messages_killed=1,
                       message_count=0, delivering_count=0)
        assert q["messages_acknowledged"] == 0, q
        wait_queue(broker, DEAD_LETTER_QUEUE, message_count=1)
        dead = take_accept(receiver(conn, f"queue://{DEAD_LETTER_QUEUE}"), 1)
        assert bodies(dead) == ["fails-every-time"]


@pytest.mark.timeout(60)
def test_message_past_its_ttl_moves_to_the_expiry_queue_with_no_consumer(make_broker):
    broker = amqp_broker(make_broker)
    send_to(broker, "queue://expiring", [Message(body="short-lived", ttl=TTL_S),
                                         Message(body="long-lived")])
    wait_queue(broker, EXPIRY_QUEUE, message_count=1, timeout_s=TTL_S + EXPIRY_S_MAX)
    wait_queue(broker, "expiring", messages_expired=1, message_count=1)
    with connection(broker) as conn:
        assert bodies(take_accept(receiver(conn, f"queue://{EXPIRY_QUEUE}"), 1)) == [
            "short-lived"]
        source = receiver(conn, "queue://expiring")
        assert bodies(take_accept(source, 1)) == ["long-lived"]
        assert_nothing_arrives(source, why="an expired message was still delivered")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop", ["graceful", "kill"])
def test_durable_queue_keeps_unacknowledged_messages_across_a_restart(make_broker, stop):
    """Ten durable messages, four received and accepted, then a graceful restart or a
    SIGKILL: the other six come back, in order, and none of the four. Under SIGKILL this is
    also "accepted only once stored": every accepted send was on disk."""
    broker = amqp_broker(make_broker, DURABLE_QUEUE)
    sent = [Message(body=f"job-{i}", durable=True) for i in range(10)]
    send_to(broker, "queue://jobs", sent)
    with connection(broker) as conn:
        done = take_accept(receiver(conn, "queue://jobs"), 4)
    assert bodies(done) == bodies(sent[:4])
    wait_queue(broker, "jobs", message_count=6, messages_acknowledged=4, consumer_count=0)

    if stop == "graceful":
        broker.restart()
    else:
        broker.kill()
        broker.start()

    wait_queue(broker, "jobs", message_count=6)
    with connection(broker) as conn:
        r = receiver(conn, "queue://jobs")
        rest = take_accept(r, 6)
        assert all(m.durable for m in rest), "the durable flag was lost in storage"
        assert bodies(rest) == bodies(sent[4:])
        assert_nothing_arrives(r, why="an acknowledged message came back after the restart")


def _hold_with_proton(broker, address):
    """A receiver that takes one message and leaves it unsettled; returns (body, let_go)."""
    conn = connect(broker)
    [m] = take(receiver(conn, address), 1)
    return m.body, lambda: close_quietly(conn)


def _hold_with_raw_socket(broker, address):
    """The same over a raw socket, whose `let_go` drops the TCP connection without a close
    frame, as a crashed client would."""
    wire = amqp_wire.WireConnection(broker.port("amqp"))
    wire.handshake()
    wire.attach("held", 0, receiver=True, address=address)
    broker_attach = wire.expect(amqp_wire.ATTACH)
    assert broker_attach.field(5) is not None, f"attach refused: {broker_attach!r}"
    # A receiver's flow states the sender's delivery count: the broker's initial one.
    wire.send(wire.flow(0, broker_attach.field(9) or 0, 1))
    t = wire.expect(amqp_wire.TRANSFER)
    held = Message()
    held.decode(t.payload)
    return held.body, wire.close


@pytest.mark.timeout(60)
@pytest.mark.parametrize("goes_away", ["close", "drop"])
def test_unsettled_delivery_is_redelivered_when_its_receivers_connection_goes(
        make_broker, goes_away):
    broker = amqp_broker(make_broker)
    send_to(broker, "queue://held", [Message(body="held-then-lost")])
    hold = _hold_with_proton if goes_away == "close" else _hold_with_raw_socket
    body, let_go = hold(broker, "queue://held")
    assert body == "held-then-lost"
    with connection(broker) as conn:
        other = receiver(conn, "queue://held")
        assert_nothing_arrives(other, why="delivered twice while the first receiver held it")
        wait_queue(broker, "held", pump_while=(conn,), delivering_count=1, consumer_count=2)
        let_go()
        [again] = take_accept(other, 1)
        assert again.body == "held-then-lost"
        wait_queue(broker, "held", pump_while=(conn,), messages_acknowledged=1,
                   message_count=0, consumer_count=1)
