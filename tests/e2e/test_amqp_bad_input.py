"""Bad input on the AMQP listener over raw sockets (issue 5): garbage, oversized frames,
transfers beyond credit and attaches to unknown addresses get the AMQP error the spec names
(read off the broker's frames, not guessed from a closed socket), and nothing else suffers: a
connection opened before keeps working, a new client works after, and the broker logs no panic.
"""

from __future__ import annotations

import random

import pytest
from proton import Message

import amqp_wire
from amqp_clients import (bodies, close_quietly, connect, connection, declared, module_broker,
                          receiver, send, take_accept)
from amqp_wire import FRAME_HEADER, WireConnection
from conftest import Broker

DECODE_ERROR = "amqp:decode-error"
FRAMING_ERROR = "amqp:connection:framing-error"
TRANSFER_LIMIT_EXCEEDED = "amqp:link:transfer-limit-exceeded"
NOT_FOUND = "amqp:not-found"

# Nothing is created on first use here: an unknown address stays unknown. The tests use
# only the declared `target` and `bystander` queues.
SETTINGS = """
[[address-settings]]
match = "#"
auto-create-addresses = false
auto-create-queues = false
""" + declared("target", "anycast") + declared("bystander", "anycast")

_rng = random.Random(20261121)
_noise = bytes(_rng.randrange(256) for _ in range(60))


def raw_frame(body: bytes, doff: int = 2) -> bytes:
    return FRAME_HEADER.pack(FRAME_HEADER.size + len(body), doff, amqp_wire.FRAME_AMQP, 0) + body


# case id -> (whether our open precedes the bad bytes, the bad bytes)
GARBAGE = {
    # 0xff is no AMQP format code: the body cannot start a described performative.
    "undecodable-body-before-open": (False, raw_frame(b"\xff" + _noise)),
    "undecodable-body-after-open": (True, raw_frame(b"\xff" + _noise)),
    # A described value whose descriptor is no performative.
    "unknown-performative": (True, raw_frame(amqp_wire.encode(0x7777, ["x"]))),
    "nonsense-bytes-announcing-a-3-GiB-frame": (False, b"\xde\xad\xbe\xef" + _noise),
    "frame-size-smaller-than-its-header": (True, b"\x00\x00\x00\x04\x02\x00\x00\x00"),
    "data-offset-inside-the-header": (True, raw_frame(amqp_wire.encode(amqp_wire.CLOSE, []),
                                                      doff=1)),
}


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp, SETTINGS)


@pytest.fixture
def unaffected(broker):
    """A client connection opened before the bad input and used after it, then a new client
    and the broker's log: the proof that only the offending connection paid."""
    mark = broker.log_mark()
    bystander = connect(broker)
    send(bystander, "bystander", [Message(body="before")])
    yield
    try:
        send(bystander, "bystander", [Message(body="after")])
        assert bodies(take_accept(receiver(bystander, "bystander"), 2)) == ["before", "after"]
    finally:
        close_quietly(bystander)
    with connection(broker) as conn:
        send(conn, "target", [Message(body="new client")])
        assert bodies(take_accept(receiver(conn, "target"), 1)) == ["new client"]
    broker.assert_healthy(since=mark)


def opened(broker: Broker) -> tuple[WireConnection, amqp_wire.Frame]:
    """A raw connection through SASL ANONYMOUS, open and begin; and the broker's open."""
    wire = WireConnection(broker.port("amqp"))
    return wire, wire.handshake()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_garbage_gets_a_close_with_decode_or_framing_error_then_the_socket_closes(
        broker, unaffected, case):
    after_open, bad = GARBAGE[case]
    with WireConnection(broker.port("amqp")) as wire:
        assert wire.sasl().field(0) == amqp_wire.SASL_OK
        wire.amqp_header()
        if after_open:
            wire.open()
        wire.send(bad)
        frames = wire.frames_until_closed()
    assert amqp_wire.close_condition(frames) in (DECODE_ERROR, FRAMING_ERROR), (
        f"frames before the socket closed: {frames}")


@pytest.mark.timeout(60)
def test_frame_larger_than_the_announced_max_frame_size_gets_a_framing_error(
        broker, unaffected):
    with WireConnection(broker.port("amqp")) as wire:
        assert wire.sasl().field(0) == amqp_wire.SASL_OK
        wire.amqp_header()
        max_frame = wire.open().field(2)
        assert max_frame is not None and 512 <= max_frame < 2**32 - 1, (
            f"the broker announced max-frame-size {max_frame}: no limit to exceed")
        # The header announces one byte too many; the rest never needs to be sent (a broker
        # that waits for it before judging would hang, which the read's deadline catches).
        wire.send(FRAME_HEADER.pack(max_frame + 1, 2, amqp_wire.FRAME_AMQP, 0) + b"\x00\x53")
        frames = wire.frames_until_closed()
    assert amqp_wire.close_condition(frames) == FRAMING_ERROR, frames


@pytest.mark.timeout(60)
def test_transfer_beyond_the_link_credit_gets_transfer_limit_exceeded(broker, unaffected):
    wire, _ = opened(broker)
    with wire:
        wire.attach("over-credit", 0, receiver=False, address="target")
        assert wire.expect(amqp_wire.ATTACH).field(6) is not None, "attach to target refused"
        grant = wire.expect(amqp_wire.FLOW)
        credit, count = grant.field(6), grant.field(5) or 0
        # A sender may use up its credit without sending (as a drained sender does) by
        # advancing its delivery count; sent together with the transfer, so that the broker
        # has no chance to renew the credit in between, this makes the transfer one too many.
        wire.send(wire.flow(0, count + credit, 0)
                  + amqp_wire.transfer(0, 0, Message(body="over the limit")))
        ended = wire.until_ended()
    assert ended.error_condition() == TRANSFER_LIMIT_EXCEEDED, (
        f"expected a detach, end or close with {TRANSFER_LIMIT_EXCEEDED}; got {ended!r}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("role,address", [
    ("receiver", "queue://no.such.queue"), ("receiver", "no.such.address"),
    ("sender", "queue://no.such.queue")])
def test_attach_to_an_unknown_address_is_answered_with_a_null_terminus_and_not_found(
        broker, unaffected, role, address):
    wire, _ = opened(broker)
    with wire:
        wire.attach("unknown", 0, receiver=role == "receiver", address=address)
        answer = wire.expect(amqp_wire.ATTACH)
        # The broker's attach names the terminus it made: its source if it sends to us (we
        # receive), its target if it receives.
        terminus = answer.field(5) if role == "receiver" else answer.field(6)
        assert terminus is None, f"attach to unknown {address} answered with {terminus!r}"
        detach = wire.expect(amqp_wire.DETACH)
    assert detach.field(1) is True, f"the detach must close the link: {detach!r}"
    assert detach.error_condition() == NOT_FOUND, repr(detach)
