"""An AMQP message passes through the broker unchanged between two AMQP clients (issue 5):
header, properties, application properties (value and AMQP type) and body of each kind.
"""

from __future__ import annotations

import uuid

import pytest
from proton import (Message, byte, char, float32, int32, short, symbol, timestamp, ubyte,
                    uint, ulong, ushort)

from amqp_clients import (body, connection, module_broker, receiver, send, take_accept)
from conftest import unique

# One application property of each AMQP simple type proton can send.
PROPERTIES = {
    "string": "text \u00e9\u4e2d",
    "long": -(2**40),
    "int": int32(-123456),
    "short": short(-1234),
    "byte": byte(-12),
    "ulong": ulong(2**63 + 5),
    "uint": uint(4000000000),
    "ushort": ushort(65000),
    "ubyte": ubyte(250),
    "boolean": True,
    "double": 2.5,
    "float": float32(1.5),
    "binary": b"\x00\xffbin",
    "null": None,
    "symbol": symbol("sym"),
    "timestamp": timestamp(1767225600000),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "char": char("x"),
}

BODIES = {
    "string": "a string body \u00e9",
    "binary": b"\x00\x01binary body\xff",
    "list": [1, "two", 3.5, True, None, b"six"],
    "map": {"a": 1, "b": "two", "nested": {"c": [1, 2]}},
}


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp)


def round_trip(broker, sent: Message) -> Message:
    address = f"queue://{unique('rt')}"
    with connection(broker) as conn:
        send(conn, address, [sent])
        [got] = take_accept(receiver(conn, address), 1)
    return got


def unchanged(sent: Message) -> Message:
    """What proton decodes from `sent`'s own encoding: the reference for "unchanged" (it
    reads a ulong id back as int, for one)."""
    m = Message()
    m.decode(sent.encode())
    return m


def typed(v):
    """A value with its Python type, binary as bytes (proton decodes it as memoryview)."""
    v = bytes(v) if isinstance(v, memoryview) else v
    return type(v).__name__, v


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(BODIES))
def test_header_properties_and_body_round_trip_unchanged(broker, kind):
    sent = Message(body=BODIES[kind], id=f"id-{kind}", correlation_id=f"corr-{kind}",
                   subject="the subject", content_type="application/x-e2e",
                   reply_to="queue://replies", durable=True, priority=7,
                   properties={"who": "e2e", "n": 42})
    got = round_trip(broker, sent)
    fields = ("id", "correlation_id", "subject", "content_type", "reply_to", "durable",
              "priority", "properties")
    assert {f: getattr(got, f) for f in fields} == {f: getattr(sent, f) for f in fields}
    assert typed(body(got)) == typed(BODIES[kind])


@pytest.mark.timeout(60)
def test_application_properties_keep_their_value_and_amqp_type(broker):
    sent = Message(body="typed", properties=PROPERTIES)
    want = {k: typed(v) for k, v in unchanged(sent).properties.items()}
    got = {k: typed(v) for k, v in (round_trip(broker, sent).properties or {}).items()}
    wrong = {k: (want[k], got.get(k, "missing")) for k in want if got.get(k) != want[k]}
    assert not wrong, f"application properties changed (sent, received): {wrong}"
    assert set(got) == set(want), f"extra properties: {set(got) - set(want)}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("message_id", [
    "string-id", ulong(77), uuid.UUID("87654321-4321-8765-4321-876543218765"), b"binary-id"],
    ids=["string", "ulong", "uuid", "binary"])
def test_message_and_correlation_ids_keep_their_amqp_type(broker, message_id):
    sent = Message(body="ids", id=message_id, correlation_id=message_id)
    want, got = unchanged(sent), round_trip(broker, sent)
    for field in ("id", "correlation_id"):
        assert typed(getattr(got, field)) == typed(getattr(want, field)), field
