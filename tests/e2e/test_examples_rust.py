"""The Rust SDK's example plugins and templates (issue 7) loaded from files, against a live
broker and real clients: the `drop-pattern` and `redact-json` filters on publish, read back by
a Kafka consumer (confluent-kafka) or an AMQP receiver (python-qpid-proton); the
`header-router` placing AMQP messages on the queue their `region` property names and on the log
partition it hashes to; and the three templates of sdk/rust/templates built unchanged. (The
filters' behaviour shared with the Python and JavaScript examples is tested for all three
languages in test_example_filters.py; the text codec in test_text_protocol.py.)

The artifacts come from `bash examples/rust/build.sh`, which writes
`target/examples/rust/<name>.wasm`; SLUICE_EXAMPLES_DIR points elsewhere. A missing artifact
fails the test (it never skips).
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import pytest
from proton import Message

from amqp_clients import (amqp_broker, assert_nothing_arrives, bodies, connection, declared,
                          queue, receiver, send_to, take_accept)
from clients import Record, consume_all, create_topic, produce_all
from conftest import REPO_ROOT, Broker
from policy_helpers import JAVA_MURMUR2, java_partition, plugin, plugin_status, settings, with_props

EXAMPLES_DIR = Path(os.environ.get("SLUICE_EXAMPLES_DIR") or REPO_ROOT / "target" / "examples")


def example(name: str) -> Path:
    """The Rust example or template `name` as built by examples/rust/build.sh; fails the test
    when it was not built."""
    path = EXAMPLES_DIR / "rust" / f"{name}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} does not exist; build it with `bash examples/rust/build.sh`",
                    pytrace=False)
    return path


def loaded(name: str, kind: str) -> str:
    """A `[[plugins.load]]` entry for example `name`, under the same name."""
    return plugin(name, kind, example(name))


def values(broker, topic: str, partitions: int = 1) -> list[bytes]:
    return [s.record.value for s in consume_all(broker.bootstrap, topic, partitions)]


# -- drop-pattern -----------------------------------------------------------------------------

DROP_PATTERN = r"(?i)^debug|secret-[0-9]+"
LOG_LINES = [
    "GET /index.html 200",
    "DEBUG cache miss for /index.html",
    "user ann logged in with secret-42",
    "secret-x is not a secret",
    "debug: lower case too",
    "POST /api/orders 201",
    "a line that mentions debug later",
    "",
    "caf\u00e9 served",
]


def test_drop_pattern_stores_exactly_the_bodies_that_do_not_match(make_broker):
    b = amqp_broker(make_broker, extra=loaded("drop-pattern", "filter")
                    + settings("dp.#", publish_filter={"plugin": "drop-pattern",
                                                       "config": DROP_PATTERN}))
    topic = "dp.logs"
    send_to(b, f"topic://{topic}", [Message(body=line) for line in LOG_LINES])
    kept = [line for line in LOG_LINES if not re.search(DROP_PATTERN, line)]
    assert len(kept) == 6, "the pattern drops three of the nine lines"
    assert values(b, topic) == [line.encode() for line in kept]
    status = plugin_status(b, "filter", "drop-pattern")
    assert (status["plugin"], status["source"]) == ("drop-pattern", str(example("drop-pattern")))
    assert status["healthy"], status
    b.assert_healthy()


def test_drop_pattern_on_a_queue_delivers_only_what_does_not_match(make_broker):
    address = "dq.jobs"
    b = amqp_broker(make_broker, extra=loaded("drop-pattern", "filter")
                    + declared(address, "anycast")
                    + settings("dq.#", publish_filter={"plugin": "drop-pattern",
                                                       "config": "^skip"}))
    send_to(b, address, [Message(body=f"{'skip' if i % 3 == 0 else 'job'}-{i}")
                         for i in range(9)])
    assert queue(b, address)["messages_added"] == 6
    with connection(b) as conn:
        r = receiver(conn, address, credit=10)
        assert bodies(take_accept(r, 6)) == [f"job-{i}" for i in range(9) if i % 3 != 0]


# -- redact-json ------------------------------------------------------------------------------

SIGNUP = {"user": "ann", "password": "hunter2",
          "profile": {"ssn": "123-45-6789", "age": 41, "tags": ["a", "b"]},
          "logins": [{"at": 1700000000, "password": "old"}, {"at": 1700000100}]}
REDACTED_SIGNUP = {"user": "ann", "password": "[REDACTED]",
                   "profile": {"ssn": "[REDACTED]", "age": 41, "tags": ["a", "b"]},
                   "logins": [{"at": 1700000000, "password": "[REDACTED]"}, {"at": 1700000100}]}
UNTOUCHED = '{ "user": "bob",  "note": "no secrets here" }'
NOT_JSON = "password=hunter2 (not JSON)"


def compact(value) -> bytes:
    """JSON as the filter writes a rewritten body: no whitespace, members in order."""
    return json.dumps(value, separators=(",", ":")).encode()


def test_redact_json_redacts_nested_fields_for_kafka_readers_and_keeps_the_rest(make_broker):
    b = amqp_broker(make_broker, extra=loaded("redact-json", "filter")
                    + settings("rj.#", publish_filter={"plugin": "redact-json",
                                                       "config": " password , ssn "}))
    topic = "rj.signups"
    send_to(b, f"topic://{topic}", [Message(body=json.dumps(SIGNUP)), Message(body=UNTOUCHED),
                                    Message(body=NOT_JSON)])
    got = values(b, topic)
    assert got[0] == compact(REDACTED_SIGNUP), got[0]
    assert got[1:] == [UNTOUCHED.encode(), NOT_JSON.encode()], (
        "JSON without the fields and non-JSON bodies are stored exactly as sent")


# -- header-router ----------------------------------------------------------------------------

REGIONS = ["eu", "us", "mars", None, "us", "eu", "eu", None]


def test_header_router_puts_each_message_on_the_queue_its_region_names(make_broker):
    address = "hr.orders"
    queues = ["hr.orders.eu", "hr.orders.us", "hr.orders.default"]
    b = amqp_broker(make_broker, extra=loaded("header-router", "router")
                    + declared(address, "anycast", [{"name": q} for q in queues])
                    + settings("hr.#", router="header-router", router_config="region"))
    messages = [with_props(f"m{i}", region=r) if r else Message(body=f"m{i}")
                for i, r in enumerate(REGIONS)]
    send_to(b, address, messages)

    def expected(q: str) -> list[str]:
        # `mars` names no queue, and messages without the property have none: the default.
        want = {"hr.orders.eu": "eu", "hr.orders.us": "us"}.get(q)
        return [f"m{i}" for i, r in enumerate(REGIONS)
                if r == want or (want is None and r not in ("eu", "us"))]

    for q in queues:
        assert queue(b, q)["messages_added"] == len(expected(q)), q
        with connection(b) as conn:
            r = receiver(conn, f"{address}::{q}", credit=10)
            assert bodies(take_accept(r, len(expected(q)))) == expected(q), q
    status = plugin_status(b, "router", "header-router")
    assert status["plugin"] == "header-router" and status["healthy"], status
    b.assert_healthy()


def test_header_router_keeps_a_region_in_the_partition_its_value_hashes_to(make_broker):
    b = amqp_broker(make_broker, extra=loaded("header-router", "router")
                    + settings("hp.#", router="header-router"))
    topic, partitions = "hp.events", 6
    create_topic(b.bootstrap, topic, partitions)
    # Kafka's own murmur2 vectors as region names, so the partitions are known from Java.
    regions = [k.decode() for k in JAVA_MURMUR2]
    sent = [(region, f"{region}-{i}") for i in range(3) for region in regions]
    send_to(b, f"topic://{topic}", [with_props(body, region=region) for region, body in sent])
    placed: dict[str, list[tuple[int, bytes]]] = {}
    for s in consume_all(b.bootstrap, topic, partitions):
        region = s.record.value.decode().rsplit("-", 1)[0]
        placed.setdefault(region, []).append((s.partition, s.record.value))
    for region in regions:
        want = java_partition(region.encode(), partitions)
        assert [p for p, _ in placed[region]] == [want] * 3, (region, placed[region])
        assert [v for _, v in placed[region]] == [f"{region}-{i}".encode() for i in range(3)], (
            f"one region's messages stay in order in their partition: {placed[region]}")


# -- the SDK's templates ----------------------------------------------------------------------
# What a user gets by copying sdk/rust/templates/<kind> and building it unchanged: each must
# load and do what its lib.rs says.

@pytest.fixture(scope="module")
def templates_broker(module_tmp):
    listeners = {"kafka": {"codec": "builtin:codec-kafka"},
                 "amqp": {"codec": "builtin:codec-amqp"},
                 "echo": {"codec": str(example("template-codec"))}}
    extra = (plugin("my-filter", "filter", example("template-filter"))
             + plugin("my-router", "router", example("template-router"))
             + declared("tr.work", "anycast", [{"name": "tr.a"}, {"name": "tr.b"}])
             + settings("tr.#", router="my-router")
             + settings("tf.#", delivery_filter={"plugin": "my-filter", "config": "debug"}))
    b = Broker(module_tmp / "templates", listeners=listeners, extra=extra).start()
    yield b
    b.teardown()


def test_the_codec_template_echoes_lines(templates_broker):
    with socket.create_connection(("127.0.0.1", templates_broker.port("echo")), timeout=10) as s:
        s.sendall(b"hello\nwor")
        s.sendall(b"ld\n")
        got = b""
        while got.count(b"\n") < 2:
            chunk = s.recv(4096)
            assert chunk, f"closed after {got!r}"
            got += chunk
    assert got == b"hello\nworld\n"
    assert plugin_status(templates_broker, "codec", "echo")["plugin"] == "my-codec"


def test_the_router_template_takes_the_queues_in_turn(templates_broker):
    send_to(templates_broker, "tr.work", [Message(body=f"m{i}") for i in range(10)])
    got = {}
    for q in ("tr.a", "tr.b"):
        with connection(templates_broker) as conn:
            r = receiver(conn, f"tr.work::{q}", credit=10)
            got[q] = bodies(take_accept(r, 5))
    assert sorted(got.values()) == [[f"m{i}" for i in range(0, 10, 2)],
                                    [f"m{i}" for i in range(1, 10, 2)]], got


def test_the_filter_template_drops_messages_with_the_configured_header(templates_broker):
    topic = "tf.events"
    create_topic(templates_broker.bootstrap, topic, 1)
    with connection(templates_broker) as conn:
        r = receiver(conn, f"topic://{topic}", credit=10)
        produce_all(templates_broker.bootstrap, topic, [
            Record(None, f"m{i}".encode(), headers=(("debug", b"1"),) if i % 2 else ())
            for i in range(6)])
        assert bodies(take_accept(r, 3)) == [b"m0", b"m2", b"m4"]
        assert_nothing_arrives(r, why="messages with a `debug` header are filtered out")
    templates_broker.assert_healthy()
