"""The Rust SDK's example codec (issue 7): a line-based text protocol served on its own
listener from `target/examples/rust/text-codec.wasm` (see examples/rust/text-codec), driven
over a raw socket as a person with `nc` would, with what it publishes read back by a Kafka
consumer (confluent-kafka) and an AMQP receiver (python-qpid-proton).
"""

from __future__ import annotations

import socket
import time

import pytest
from proton import Message

from amqp_clients import (bodies, connection, queue, receiver, send_to, take_accept,
                          wait_queue)
from clients import Record, consume_all, produce_all
from conftest import Broker, unique
from policy_helpers import plugin_status
from test_examples_rust import example

# One reply or push line must arrive within this.
LINE_S_MAX = 10.0
# How long "nothing more arrives" is watched.
QUIET_S = 0.5
# The codec's line limit (examples/rust/text-codec/src/limits.rs, LINE_BYTES_MAX).
LINE_BYTES_MAX = 64 * 1024
# Unacknowledged deliveries per subscription (limits.rs, IN_FLIGHT_MAX).
IN_FLIGHT_MAX = 64

USER, PASSWORD = "alice", "wonder land"


def text_listeners() -> dict:
    return {"kafka": {"codec": "builtin:codec-kafka"},
            "amqp": {"codec": "builtin:codec-amqp"},
            "text": {"codec": str(example("text-codec"))}}


@pytest.fixture(scope="module")
def broker(module_tmp):
    b = Broker(module_tmp / "broker", listeners=text_listeners()).start()
    yield b
    b.teardown()


class TextClient:
    """One connection to the text listener: writes lines, reads lines (without `\\r\\n`)."""

    def __init__(self, broker: Broker) -> None:
        self.sock = socket.create_connection(("127.0.0.1", broker.port("text")),
                                             timeout=LINE_S_MAX)
        self.buf = b""

    def send(self, *lines: bytes | str, end: bytes = b"\n") -> None:
        data = b"".join((l.encode() if isinstance(l, str) else l) + end for l in lines)
        self.sock.sendall(data)

    def line(self, timeout_s: float = LINE_S_MAX) -> str:
        """The next line, as text; fails on a closed connection."""
        raw = self.raw_line(timeout_s)
        assert raw is not None, "the broker closed the connection"
        return raw.decode()

    def raw_line(self, timeout_s: float = LINE_S_MAX) -> bytes | None:
        """The next line as bytes, or None once the broker closed the connection."""
        self.sock.settimeout(timeout_s)
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def ask(self, line: str) -> str:
        self.send(line)
        return self.line()

    def closed(self) -> bool:
        """Whether the broker closed the connection (after any lines still buffered)."""
        return self.raw_line() is None

    def quiet(self) -> None:
        """Nothing more arrives for a while."""
        try:
            got = self.raw_line(QUIET_S)
        except socket.timeout:
            return
        raise AssertionError(f"unexpected line {got!r}")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "TextClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def msg(line: str) -> tuple[int, int, str]:
    """A `MSG <sub> <tag> <body>` line's parts."""
    kind, sub, tag, body = line.split(" ", 3)
    assert kind == "MSG", line
    return int(sub), int(tag), body


def test_commands_are_answered_in_order_and_mistakes_keep_the_connection(broker):
    with TextClient(broker) as c:
        c.send("PING", "ping are you there", "HELP", "FROB x", "ACK 1", "ACK 9 9", "PUB",
               "PUB a \\q", "", "PING done")
        assert c.line() == "PONG"
        assert c.line() == "PONG are you there"
        assert c.line().startswith("OK commands: AUTH")
        assert c.line() == "ERR unknown command `FROB`; try HELP"
        assert c.line() == "ERR usage: ACK <subscription> <tag>"
        assert c.line() == "ERR no subscription 9"
        assert c.line() == "ERR usage: PUB <address> <body>"
        assert c.line().startswith("ERR bad escape at byte 0")
        assert c.line() == "PONG done", "a blank line gets no reply"
    status = plugin_status(broker, "codec", "text")
    assert (status["plugin"], status["healthy"]) == ("text-codec", True), status


def test_published_messages_are_kafka_records_of_the_topic(broker):
    topic = unique("text.pub")
    bodies_sent = [b"hello world", b"  spaces kept ", b"line\nbreak", b"caf\xc3\xa9",
                   b"\x00\xff binary", b"back\\slash", b""]
    escaped = ["hello world", "  spaces kept ", "line\\nbreak", "café", "\\x00\\xFF binary",
               "back\\\\slash", ""]
    with TextClient(broker) as c:
        # Pipelined in one write, CRLF line ends as telnet sends them.
        c.send(*(f"PUB {topic} {e}" for e in escaped), end=b"\r\n")
        assert [c.line() for _ in escaped] == ["OK"] * len(escaped)
    read = consume_all(broker.bootstrap, topic, 1)
    assert [s.record.value or b"" for s in read] == bodies_sent
    now_ms = time.time() * 1000
    assert all(abs(s.record.timestamp_ms - now_ms) < 60_000 for s in read), "stamped by the broker"


def test_a_subscription_gets_pushed_messages_and_acks_and_nacks_settle_them(broker):
    address = unique("text.sub")
    with TextClient(broker) as c:
        assert c.ask(f"PUB {address} before") == "OK", "creates the address, multicast"
        assert c.ask(f"SUB {address}") == "OK 1"
        c.send(f"PUB {address} one", f"PUB {address} two")
        assert [c.line(), c.line()] == ["OK", "OK"], "replies come before any MSG"
        (s1, t1, b1), (s2, t2, b2) = msg(c.line()), msg(c.line())
        assert (s1, b1, s2, b2) == (1, "one", 1, "two"), "only what was sent after SUB"
        assert c.ask(f"ACK 1 {t1}") == "OK"
        assert c.ask(f"NACK 1 {t2}") == "OK"
        s3, t3, b3 = msg(c.line())
        assert (s3, b3) == (1, "two"), "a NACKed message comes back"
        assert t3 != t2
        assert c.ask(f"ACK 1 {t3}") == "OK"
        assert c.ask(f"ACK 1 {t3}").startswith("ERR no delivery"), "settled once only"
        c.quiet()
    wait_queue(broker, address, message_count=0, messages_acknowledged=2)
    # Every PUB is in the address's log as well, for Kafka readers.
    assert [s.record.value for s in consume_all(broker.bootstrap, address, 1)] == [
        b"before", b"one", b"two"]


def test_a_subscription_holds_at_most_its_in_flight_limit_until_acknowledged(broker):
    address = unique("text.flight")
    n = IN_FLIGHT_MAX + 16
    send_to(broker, f"queue://{address}", [Message(body=f"m{i}") for i in range(n)])
    with TextClient(broker) as c:
        assert c.ask(f"SUB {address}") == "OK 1"
        first = [msg(c.line()) for _ in range(IN_FLIGHT_MAX)]
        c.quiet()
        for _, tag, _ in first[:16]:
            c.send(f"ACK 1 {tag}")
        lines = [c.line() for _ in range(32)]
        assert sorted(lines).count("OK") == 16
        rest = [msg(l) for l in lines if l.startswith("MSG ")]
        assert [b for _, _, b in first + rest] == [f"m{i}" for i in range(n)]


def test_closing_the_connection_returns_unacknowledged_messages_to_the_queue(broker):
    address = unique("text.close")
    send_to(broker, f"queue://{address}", [Message(body="keep me")])
    with TextClient(broker) as c:
        assert c.ask(f"SUB {address}") == "OK 1"
        assert msg(c.line())[2] == "keep me"
    with TextClient(broker) as c:
        assert c.ask(f"SUB {address}") == "OK 1"
        _, tag, body = msg(c.line())
        assert body == "keep me"
        assert c.ask("UNSUB 1") == "OK"
        assert c.ask(f"ACK 1 {tag}") == "ERR no subscription 1"


def test_amqp_and_kafka_meet_the_text_protocol_on_the_same_address(broker):
    address = unique("text.cross")
    with TextClient(broker) as c:
        assert c.ask(f"SUB {address}") == "OK 1"
        send_to(broker, address, [Message(body="from amqp")])
        _, tag, body = msg(c.line())
        assert body == "from amqp"
        assert c.ask(f"ACK 1 {tag}") == "OK"
        assert c.ask(f"PUB queue://{address} from text") == "OK"
    with connection(broker) as conn:
        r = receiver(conn, address, credit=1)
        # A plain record (no AMQP sections): an AMQP receiver gets its body as a data section.
        assert bodies(take_accept(r, 1)) == [b"from text"]
    topic = unique("text.kafka")
    with TextClient(broker) as c:
        assert c.ask(f"SUB topic://{topic}") == "OK 1"
        produce_all(broker.bootstrap, topic, [Record(b"k", b"from kafka")])
        assert msg(c.line())[2] == "from kafka"


def test_a_line_too_long_is_refused_and_the_connection_closed(broker):
    with TextClient(broker) as c:
        c.send("PING", "PUB x " + "a" * LINE_BYTES_MAX)
        assert c.line() == "PONG"
        assert c.line() == f"ERR line too long (more than {LINE_BYTES_MAX} bytes)"
        assert c.closed()
    with TextClient(broker) as c:
        # Refused before the line ends: the codec does not wait for a newline that may
        # never come.
        c.sock.sendall(b"x" * (LINE_BYTES_MAX + 100))
        assert c.line().startswith("ERR line too long")
        assert c.closed()
    broker.assert_healthy()


def test_quit_says_bye_and_closes(broker):
    with TextClient(broker) as c:
        c.send("PING", "QUIT", "PING")
        assert [c.line(), c.line()] == ["PONG", "BYE"]
        assert c.closed()


def test_without_anonymous_access_auth_comes_first(make_broker):
    b = make_broker(listeners=text_listeners(), extra=f"""
[security]
allow-anonymous = false

[[security.users]]
name = "{USER}"
password = "{PASSWORD}"
""")
    with TextClient(b) as c:
        assert c.ask("PUB secured x") == "ERR authenticate first: AUTH <user> <password>"
        assert c.ask("PING") == "PONG"
        assert c.ask(f"AUTH {USER} wrong") == "ERR authentication failed"
        assert c.ask(f"AUTH {USER} {PASSWORD}") == f"OK {USER}"
        assert c.ask("PUB secured x") == "OK"
    with TextClient(b) as c:
        c.send("AUTH a b", "AUTH a b", "AUTH a b", "PING")
        assert [c.line() for _ in range(3)] == ["ERR authentication failed"] * 3
        assert c.closed(), "the third failure closes the connection"
    assert [s.record.value for s in consume_all(b.bootstrap, "secured", 1)] == [b"x"]
    b.assert_healthy()
