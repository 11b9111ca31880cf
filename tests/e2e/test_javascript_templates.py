"""The JavaScript SDK's templates (sdk/javascript/templates, issue 7), built into components by
`bash examples/javascript/build.sh`, loaded by a live broker and doing what they say: the
filter drops messages with a `drop` header, the router takes turns over an address's anycast
queues and places keyed messages where Kafka's Java partitioner would, the codec echoes lines.

Components come from $SLUICE_EXAMPLES_DIR (default target/examples)/javascript/, named
template-<kind>.wasm. A JavaScript component is about 12 MB and the broker compiles each for
20 s to over a minute, so the module shares one broker, started with all three, and its tests
use names of their own.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Iterator

import pytest
from proton import Message

from amqp_clients import (AMQP_LISTENERS, bodies, connection, declared, queue, receiver,
                          send_to, take_accept)
from clients import consume_all, create_topic
from conftest import REPO_ROOT, Broker
from policy_helpers import JAVA_MURMUR2, java_partition, keyed, plugin, settings, wait_plugin, \
    with_props

# Cranelift compiles the three ~12 MB components one after another: 20 s each on two quiet cores,
# minutes on busy ones.
STARTUP_S_MAX = 900.0
# One echo round trip through the JavaScript codec.
ECHO_S_MAX = 15.0
PARTITIONS = 4
# The echo listener's `frame-bytes-max` (the host's least): the codec's bound on a line.
LINE_BYTES_MAX = 1024

# The first test also waits for the shared broker's start.
pytestmark = pytest.mark.timeout(STARTUP_S_MAX + 120)


def component(name: str) -> Path:
    """A built JavaScript component; fails (never skips) when it was not built."""
    out = Path(os.environ.get("SLUICE_EXAMPLES_DIR") or REPO_ROOT / "target" / "examples")
    path = out / "javascript" / f"{name}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} does not exist; build it with `bash examples/javascript/build.sh`",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def broker(module_tmp, monkeypatch_module) -> Iterator[Broker]:
    monkeypatch_module.setattr("conftest.STARTUP_S_MAX", STARTUP_S_MAX)
    extra = (plugin("template-filter", "filter", component("template-filter"))
             + plugin("template-router", "router", component("template-router"))
             + declared("jsf.orders", "anycast")
             + settings("jsf.#", publish_filter={"plugin": "template-filter", "config": ""})
             + declared("jsr.work", "anycast", [{"name": f"jsr.work-{i}"} for i in range(3)])
             + settings("jsr.#", router="template-router"))
    listeners = {**AMQP_LISTENERS, "echo": {"codec": str(component("template-codec")),
                                            "frame-bytes-max": LINE_BYTES_MAX}}
    b = Broker(module_tmp / "broker", listeners=listeners, extra=extra)
    try:
        # Inside the try: a start that times out fails the fixture with the process running.
        yield b.start()
    finally:
        b.teardown()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_the_filter_template_drops_messages_with_a_drop_header_and_keeps_the_rest(broker):
    address = "jsf.orders"
    send_to(broker, address, [with_props(f"m{i}", drop="yes") if i % 3 == 0
                              else Message(body=f"m{i}") for i in range(9)])
    assert queue(broker, address)["messages_added"] == 6
    with connection(broker) as conn:
        r = receiver(conn, address, credit=20)
        assert bodies(take_accept(r, 6)) == ["m1", "m2", "m4", "m5", "m7", "m8"]
    status = wait_plugin(broker, "filter", "template-filter")
    assert status["healthy"], status
    assert status["stats"]["messages_in"] == 9 and status["stats"]["messages_out"] == 6, status


def test_the_router_template_takes_turns_over_the_anycast_queues(broker):
    send_to(broker, "jsr.work", [Message(body=f"w{i}") for i in range(9)])
    added = [queue(broker, f"jsr.work-{i}")["messages_added"] for i in range(3)]
    assert added == [3, 3, 3], added
    status = wait_plugin(broker, "router", "template-router")
    assert status["healthy"] and status["stats"]["errors"] == 0, status


def test_the_router_template_places_keys_where_the_java_partitioner_does(broker):
    topic = "jsr.keyed"
    create_topic(broker.bootstrap, topic, PARTITIONS)
    send_to(broker, f"topic://{topic}", [keyed(f"m-{k.decode()}", k.decode())
                                         for k in JAVA_MURMUR2])
    placed = {s.record.key: s.partition for s in consume_all(broker.bootstrap, topic, PARTITIONS)}
    assert placed == {k: java_partition(k, PARTITIONS) for k in JAVA_MURMUR2}


def echo_connection(broker: Broker) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", broker.port("echo")), timeout=ECHO_S_MAX)
    s.settimeout(ECHO_S_MAX)
    return s


def read_exactly(s: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        assert chunk, f"connection closed after {got!r}, {n} bytes expected"
        got += chunk
    return got


def test_the_codec_template_echoes_lines_cut_anywhere(broker):
    with echo_connection(broker) as s:
        s.sendall(b"hello\nwor")
        assert read_exactly(s, 6) == b"hello\n"
        time.sleep(0.2)  # the rest of the line arrives in another read
        rest = b"ld\n\xff\x00binary\n"
        s.sendall(rest)
        assert read_exactly(s, 3 + len(rest)) == b"world\n\xff\x00binary\n"


def test_the_codec_template_serves_connections_independently(broker):
    with echo_connection(broker) as a, echo_connection(broker) as b:
        a.sendall(b"from a, part")
        b.sendall(b"from b\n")
        assert read_exactly(b, 7) == b"from b\n"
        a.sendall(b" two\n")
        assert read_exactly(a, 17) == b"from a, part two\n"


def test_the_codec_template_says_bye_to_quit_and_closes(broker):
    with echo_connection(broker) as s:
        s.sendall(b"one\nquit\n")
        got = b""
        while chunk := s.recv(1024):
            got += chunk
        assert got == b"one\nbye\n"
    broker.assert_healthy()


def test_the_codec_template_closes_a_connection_whose_line_outgrows_the_frame_limit(broker):
    mark = broker.log_mark()
    with echo_connection(broker) as s, echo_connection(broker) as other:
        s.sendall(b"x" * (LINE_BYTES_MAX + 1))
        assert s.recv(1024) == b"", "the codec refuses the line and the host closes the socket"
        other.sendall(b"still here\n")
        assert read_exactly(other, 11) == b"still here\n", "other connections are not affected"
    broker.wait_for_log(f"a line longer than {LINE_BYTES_MAX} bytes", since=mark)
