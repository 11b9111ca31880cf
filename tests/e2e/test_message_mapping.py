"""One message across Kafka and AMQP (issue 7), with real clients both ways: every row of the
mapping table in docs/message-mapping.md, and the two round trips.

- Kafka → AMQP: a record produced with confluent-kafka, read by a python-qpid-proton receiver:
  key, value, each header (text, binary, valueless, repeated), timestamp, tombstone; a
  producer's malformed `amqp.*` headers.
- AMQP → Kafka: a proton message with every properties field, application properties of each
  simple type, annotations, ttl and expiry, read by a Kafka consumer; each body kind (one or
  two data sections, amqp-value of several types, amqp-sequence, none) and a footer, sent as
  raw sections.
- Round trips: Kafka → AMQP → Kafka (a receiver sends the message on unchanged) gives the
  record back field by field; AMQP → Kafka → AMQP (a consumer produces the record on
  unchanged) gives the message back, section by section or byte for byte.
"""

from __future__ import annotations

import time
import uuid

import pytest
from proton import (Message, byte, char, float32, int32, short, symbol, timestamp, ubyte, uint,
                    ulong, ushort)

from amqp_clients import (RawMessage, RawSubscriber, connection, module_broker, receiver, send,
                          section, take_accept)
from clients import Record, consume_all, produce_all
from conftest import unique

PARTITION_KEY = symbol("x-opt-partition-key")
PARTITION = symbol("x-opt-partition")
OFFSET = symbol("x-opt-offset")
KAFKA_HEADERS = symbol("x-opt-kafka-headers")

SECTION_HEADERS = ("amqp.header", "amqp.message-annotations", "amqp.properties",
                   "amqp.application-properties", "amqp.body", "amqp.footer")
# Section descriptor codes (AMQP 1.0, 3.2).
HEADER, MESSAGE_ANNOTATIONS, PROPERTIES = 0x70, 0x72, 0x73
DATA, SEQUENCE, VALUE, FOOTER = 0x75, 0x76, 0x77, 0x78

# A fixed time: Kafka timestamps and AMQP creation times are both ms since the epoch.
T0_MS = 1767225600123

# One application property of each simple type, and the header text a Kafka consumer reads.
TYPED_PROPERTIES = {
    "string": ("text \u00e9\u4e2d", "text \u00e9\u4e2d".encode()),
    "long": (-(2**40), b"-1099511627776"),
    "int": (int32(-123456), b"-123456"),
    "short": (short(-1234), b"-1234"),
    "byte": (byte(-12), b"-12"),
    "ulong": (ulong(2**63 + 5), b"9223372036854775813"),
    "uint": (uint(4000000000), b"4000000000"),
    "ushort": (ushort(65000), b"65000"),
    "ubyte": (ubyte(250), b"250"),
    "boolean": (True, b"true"),
    "double": (2.5, b"2.5"),
    "float": (float32(1.5), b"1.5"),
    "binary": (b"\x00\xffbin", b"\x00\xffbin"),
    "null": (None, None),
    "symbol": (symbol("sym"), b"sym"),
    "timestamp": (timestamp(1767225600000), b"1767225600000"),
    "uuid": (uuid.UUID("12345678-1234-5678-1234-567812345678"),
             b"12345678-1234-5678-1234-567812345678"),
    "char": (char("x"), b"x"),
}


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp)


def plain(v):
    """A value as proton hands it out, binary as bytes (proton gives a memoryview), lists
    element by element."""
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def typed(v):
    v = plain(v)
    return type(v).__name__, v


def unchanged(sent: Message) -> Message:
    """What proton decodes from `sent`'s own encoding: the reference for "unchanged"."""
    m = Message()
    m.decode(sent.encode())
    return m


def ms(seconds: float) -> int:
    """Proton's seconds as ms, rounded (proton's float seconds are not exact)."""
    return round(seconds * 1000)


def kafka_to_amqp(broker, records: list[Record]) -> tuple[list, list[Message]]:
    """Produces `records` to a new topic that an AMQP receiver subscribes to first; returns
    the delivery reports and what the receiver got."""
    topic = unique("k2a")
    with connection(broker) as conn:
        r = receiver(conn, f"topic://{topic}", credit=len(records))
        reports = produce_all(broker.bootstrap, topic, records, partition=0)
        got = take_accept(r, len(records))
    return reports, got


def assert_message_fields(got: Message, want: Message, why: str) -> None:
    """Every field of two proton messages, one by one (so a failure names the field)."""
    for name in ("durable", "priority", "ttl", "first_acquirer", "id", "user_id", "address",
                 "subject", "reply_to", "correlation_id", "content_type", "content_encoding",
                 "expiry_time", "creation_time", "group_id", "group_sequence",
                 "reply_to_group_id", "inferred"):
        assert plain(getattr(got, name)) == plain(getattr(want, name)), f"{why}: {name}"
    assert dict(got.annotations or {}) == dict(want.annotations or {}), f"{why}: annotations"
    assert ({k: typed(v) for k, v in (got.properties or {}).items()}
            == {k: typed(v) for k, v in (want.properties or {}).items()}), (
        f"{why}: application properties")
    assert typed(got.body) == typed(want.body), f"{why}: body"


# -- Kafka → AMQP -------------------------------------------------------------------------------

KAFKA_RECORDS = [
    Record(b"user-42", b"value \x00\xff",
           (("trace", b"abc"), ("bin", b"\xff\x00"), ("flag", None), ("empty", b"")), T0_MS),
    Record(b"\xff\xfe", b"", (("dup", b"1"), ("other", b"x"), ("dup", b"\xff")), T0_MS + 1),
    Record(None, b"no key", (), T0_MS + 2),
    Record(b"gone", None, (), T0_MS + 3),  # a tombstone
]


@pytest.mark.timeout(120)
def test_a_kafka_record_reaches_an_amqp_receiver_with_every_field(broker):
    _, got = kafka_to_amqp(broker, KAFKA_RECORDS)
    with_headers, duplicated, keyless, tombstone = got

    for m, rec in zip(got, KAFKA_RECORDS):
        assert m.durable, "a stored message reads durable"
        assert ms(m.creation_time) == rec.timestamp_ms, "timestamp → creation-time"
        assert m.expiry_time == 0 and m.ttl == 0, "no expiry"
        assert m.id is None and m.subject is None, "nothing a record does not say"
    # The value is one data section (proton: inferred binary); a tombstone a null body.
    assert [typed(m.body) for m in got[:3]] == [
        ("bytes", rec.value) for rec in KAFKA_RECORDS[:3]]
    assert all(m.inferred for m in got[:3])
    assert tombstone.body is None

    # The key: a string annotation when UTF-8, a binary one otherwise, none without a key.
    assert typed(with_headers.annotations[PARTITION_KEY]) == ("str", "user-42")
    assert typed(duplicated.annotations[PARTITION_KEY]) == ("bytes", b"\xff\xfe")
    assert PARTITION_KEY not in (keyless.annotations or {})
    assert typed(tombstone.annotations[PARTITION_KEY]) == ("str", "gone")

    # Headers: application properties, text as a string, other bytes as binary, no value null.
    assert {k: typed(v) for k, v in with_headers.properties.items()} == {
        "trace": ("str", "abc"), "bin": ("bytes", b"\xff\x00"), "flag": ("NoneType", None),
        "empty": ("str", "")}
    assert list(with_headers.properties) == ["trace", "bin", "flag", "empty"], "in order"
    assert KAFKA_HEADERS not in with_headers.annotations
    # A repeated name: its last value as the property, and every header in the list.
    assert {k: typed(v) for k, v in duplicated.properties.items()} == {
        "dup": ("bytes", b"\xff"), "other": ("str", "x")}
    assert plain(duplicated.annotations[KAFKA_HEADERS]) == [
        ["dup", b"1"], ["other", b"x"], ["dup", b"\xff"]]
    assert not keyless.properties


@pytest.mark.timeout(120)
def test_a_kafka_record_reaches_an_amqp_receiver_with_its_partition_and_offset(broker):
    records = [Record(b"k", f"v{i}".encode(), (), T0_MS) for i in range(3)]
    reports, got = kafka_to_amqp(broker, records)
    assert [(m.annotations.get(PARTITION), m.annotations.get(OFFSET)) for m in got] == [
        (rep.partition, rep.offset) for rep in reports]
    assert all(type(m.annotations[PARTITION]) is int32 for m in got)


@pytest.mark.timeout(120)
def test_malformed_amqp_headers_from_a_kafka_producer_are_plain_headers(broker):
    properties_section = section(PROPERTIES, ["id"])
    rec = Record(b"k", b"v", (("amqp.header", b"\xff\x01"),
                              ("amqp.properties", properties_section),
                              ("amqp.body", None), ("x", b"1")), T0_MS)
    _, [m] = kafka_to_amqp(broker, [rec])
    assert typed(m.body) == ("bytes", b"v")
    assert m.id is None, "the properties header is not taken for a section"
    assert {k: typed(v) for k, v in m.properties.items()} == {
        "amqp.header": ("bytes", b"\xff\x01"), "amqp.properties": ("bytes", properties_section),
        "amqp.body": ("NoneType", None), "x": ("str", "1")}


# -- AMQP → Kafka -------------------------------------------------------------------------------

def full_message(expiry_s: float) -> Message:
    """A proton message with every properties field and header field set."""
    m = Message(
        body=b"the data", inferred=True,
        durable=True, priority=7, ttl=600.0,
        id="id-1", user_id=b"anonymous", address="orders", subject="the subject",
        reply_to="queue://replies", correlation_id=uuid.UUID(int=5),
        content_type="application/x-e2e", content_encoding="identity",
        expiry_time=expiry_s, creation_time=T0_MS / 1000, group_id="group-a",
        group_sequence=3, reply_to_group_id="group-r",
        properties={k: v for k, (v, _) in TYPED_PROPERTIES.items()},
        annotations={PARTITION_KEY: "user-7", symbol("x-opt-app"): int32(5)},
    )
    m.instructions = {symbol("x-opt-hop"): "delivery annotation"}
    return m


@pytest.mark.timeout(120)
def test_an_amqp_message_reaches_a_kafka_consumer_with_every_field(broker):
    topic = unique("a2k")
    expiry_s = int(time.time()) + 3600
    sent = full_message(expiry_s)
    with connection(broker) as conn:
        send(conn, f"topic://{topic}", [sent])
    [stored] = consume_all(broker.bootstrap, topic, partitions=1)
    rec = stored.record
    assert rec.key == b"user-7", "x-opt-partition-key → key"
    assert rec.value == b"the data", "one data section → value"
    assert rec.timestamp_ms == T0_MS, "creation-time → timestamp"
    headers = list(rec.headers)
    names = [k for k, _ in headers]
    assert names[:4] == ["amqp.header", "amqp.message-annotations", "amqp.properties",
                         "amqp.application-properties"], names
    assert "amqp.body" not in names, "the value rebuilds a lone data section"
    # Each application property, also as a plain header: its value as text.
    copies = [(k, v) for k, v in headers if not k.startswith(("amqp.", "sluice-"))]
    assert copies == [(k, text) for k, (_, text) in TYPED_PROPERTIES.items()]
    reserved = {k: v for k, v in headers if k.startswith("sluice-")}
    assert reserved == {"sluice-group-id": b"group-a",
                        "sluice-expiry-ms": str(expiry_s * 1000).encode()}, (
        "group-id → the broker's group; absolute-expiry-time (over ttl) → the expiry")

    # The sections are stored as sent: decoded together with the value they are the message,
    # every field as proton sent it, the delivery annotations (per hop) left out.
    sections = b"".join(v for k, v in headers if k in SECTION_HEADERS)
    rebuilt = Message()
    rebuilt.decode(sections + section(DATA, rec.value))
    want = unchanged(sent)
    assert_message_fields(rebuilt, want, "sections")
    assert not rebuilt.instructions, "delivery annotations are not stored"


def data(b: bytes) -> bytes:
    return section(DATA, b)


def value(v) -> bytes:
    return section(VALUE, v)


# Each body kind: its sections, the record value a Kafka consumer reads, whether the body
# sections are kept in `amqp.body`.
BODIES = {
    "one data": (data(b"bytes"), b"bytes", False),
    "two data": (data(b"one") + data(b"two"), data(b"one") + data(b"two"), True),
    "string": (value("h\u00e9llo"), "h\u00e9llo".encode(), True),
    "binary": (value(b"\x00\xff"), b"\x00\xff", True),
    "null": (value(None), None, True),
    "int": (value(int32(7)), value(int32(7)), True),
    "double": (value(1.25), value(1.25), True),
    "boolean": (value(True), value(True), True),
    "list": (value([1, "two", None]), value([1, "two", None]), True),
    "map": (value({"k": 2}), value({"k": 2}), True),
    "two sequences": (section(SEQUENCE, [1, "a"]) + section(SEQUENCE, [True]),
                      section(SEQUENCE, [1, "a"]) + section(SEQUENCE, [True]), True),
    "no body": (b"", None, True),
}


@pytest.mark.timeout(120)
def test_each_body_kind_and_a_footer_reach_kafka_and_come_back_byte_for_byte(broker):
    """AMQP → Kafka → AMQP for every body kind: the Kafka consumer reads the defined value,
    and re-producing its record unchanged gives an AMQP receiver the very bytes sent."""
    first, second = unique("bodies"), unique("bodies-again")
    header = section(HEADER, [True])
    annotations = section(MESSAGE_ANNOTATIONS, {symbol("x-opt-partition-key"): "k"})
    footer = section(FOOTER, {symbol("x-opt-sig"): b"\x01\x02"})
    kinds = sorted(BODIES)
    payloads = [header + annotations + BODIES[k][0] + footer for k in kinds]
    with connection(broker) as conn:
        send(conn, f"topic://{first}", [RawMessage(p) for p in payloads])
    read = consume_all(broker.bootstrap, first, partitions=1)
    assert len(read) == len(kinds)
    for kind, s in zip(kinds, read):
        body, want_value, kept = BODIES[kind]
        headers = dict(s.record.headers)
        assert s.record.key == b"k", kind
        assert s.record.value == want_value, f"{kind}: value"
        assert headers.get("amqp.body") == (body if kept else None), f"{kind}: amqp.body"
        assert headers["amqp.footer"] == footer, f"{kind}: footer"

    subscriber = RawSubscriber(broker, f"topic://{second}", credit=len(kinds))
    try:
        produce_all(broker.bootstrap, second, [s.record for s in read], partition=0)
        got = subscriber.take(len(kinds))
    finally:
        subscriber.close()
    for kind, payload, bytes_back in zip(kinds, payloads, got):
        assert bytes_back == payload, f"{kind}: sections byte for byte"


# -- round trips --------------------------------------------------------------------------------

ROUND_TRIP_RECORDS = KAFKA_RECORDS + [
    Record(b"", b"v", (("sluice-original-address", b"orders"), ("x", b"1")), T0_MS + 4),
    Record(b"k", b"v", (("amqp.header", b"\xff"), ("amqp.other", b"y")), T0_MS + 5),
]


@pytest.mark.timeout(120)
def test_kafka_to_amqp_to_kafka_gives_the_record_back(broker):
    """A receiver sends each Kafka-originated message on unchanged: a Kafka consumer of the
    second topic reads the original key, value, headers (order, repeats, no values) and
    timestamp."""
    first, second = unique("kak"), unique("kak-again")
    with connection(broker) as conn:
        r = receiver(conn, f"topic://{first}", credit=len(ROUND_TRIP_RECORDS))
        produce_all(broker.bootstrap, first, ROUND_TRIP_RECORDS, partition=0)
        got = take_accept(r, len(ROUND_TRIP_RECORDS))
        send(conn, f"topic://{second}", got)
    back = consume_all(broker.bootstrap, second, partitions=1)
    assert len(back) == len(ROUND_TRIP_RECORDS)
    for want, s in zip(ROUND_TRIP_RECORDS, back):
        rec = s.record
        assert rec.key == want.key, want
        assert rec.value == want.value, want
        assert rec.headers == want.headers, want
        assert rec.timestamp_ms == want.timestamp_ms, want


@pytest.mark.timeout(120)
def test_amqp_to_kafka_to_amqp_gives_the_message_back(broker):
    """A Kafka consumer produces an AMQP-originated record on unchanged (key, value, every
    header with the `amqp.*` ones, timestamp): an AMQP receiver of that topic gets the message
    as it was sent, field by field."""
    first, second = unique("aka"), unique("aka-again")
    expiry_s = int(time.time()) + 3600
    sent = [full_message(expiry_s),
            Message(body=["a", "list", 3], properties={"n": int32(1)}, durable=False),
            Message(body="text", subject="s", creation_time=T0_MS / 1000),
            # Nothing a record cannot say: Kafka consumers read it as a plain record.
            Message(body=b"plain", inferred=True, durable=True, creation_time=T0_MS / 1000,
                    properties={"a": "b", "bin": b"\xff"}, annotations={PARTITION_KEY: "pk"})]
    with connection(broker) as conn:
        send(conn, f"topic://{first}", sent)
    read = consume_all(broker.bootstrap, first, partitions=1)
    assert read[3].record == Record(b"pk", b"plain", (("a", b"b"), ("bin", b"\xff")), T0_MS)
    with connection(broker) as conn:
        r = receiver(conn, f"topic://{second}", credit=len(sent))
        produce_all(broker.bootstrap, second, [s.record for s in read], partition=0)
        got = take_accept(r, len(sent))
    for i, (m, g) in enumerate(zip(sent, got)):
        if i == 3:
            # A plain record comes with where it sits in the topic it was read from.
            assert (g.annotations.pop(PARTITION), g.annotations.pop(OFFSET)) == (0, i)
        assert_message_fields(g, unchanged(m), f"message {i}")
        assert not g.instructions, "delivery annotations are per hop"
