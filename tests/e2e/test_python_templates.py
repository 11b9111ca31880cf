"""The Python SDK's templates (sdk/python/templates, issue 7), built by examples/python/build.sh
and loaded into a live broker: the filter drops messages with a header `drop`, the router
spreads an address's anycast queues round robin and places keys where Kafka's Java client
would, and the codec echoes lines on a listener of its own.

One broker for the module (compiling each Python component takes seconds). Artifacts:
$SLUICE_EXAMPLES_DIR (default target/examples)/python/template-<kind>.wasm; a missing one fails.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from proton import Message

from amqp_clients import (AMQP_LISTENERS, bodies, connection, declared, queue, receiver,
                          send_to, take_accept, wait_queue)
from clients import consume_all, create_topic
from conftest import TARGET, Broker, unique
from policy_helpers import JAVA_MURMUR2, java_partition, keyed, plugin, settings, with_props

PARTITIONS = 6
# The echo listener's frame limit, the smallest a listener accepts: the codec refuses a line
# longer than this.
ECHO_FRAME_BYTES_MAX = 1024
# One socket step against the echo codec.
SOCKET_S_MAX = 10.0


def template(kind: str) -> Path:
    path = Path(os.environ.get("SLUICE_EXAMPLES_DIR") or TARGET / "examples") / "python" / (
        f"template-{kind}.wasm")
    if not path.is_file():
        pytest.fail(f"{path} does not exist; build it with `bash examples/python/build.sh`",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def broker(module_tmp):
    extra = (plugin("template-filter", "filter", template("filter"))
             + plugin("template-router", "router", template("router"))
             + declared("tf.orders", "anycast")
             + declared("tr.spread", "anycast", [{"name": "tr-a"}, {"name": "tr-b"}])
             + settings("tf.#", publish_filter={"plugin": "template-filter", "config": ""})
             + settings("tf-refused.#", publish_filter={"plugin": "template-filter",
                                                        "config": "anything"})
             + settings("tr.#", router="template-router"))
    listeners = {**AMQP_LISTENERS,
                 "echo": {"codec": template("codec"),
                          "frame-bytes-max": ECHO_FRAME_BYTES_MAX}}
    b = Broker(module_tmp / "broker", listeners=listeners, extra=extra).start()
    yield b
    b.teardown()


# -- filter ---------------------------------------------------------------------------------

def test_template_filter_drops_messages_with_a_drop_header_and_keeps_the_rest(broker):
    sent = [with_props(f"m{i}", drop="yes") if i % 3 == 0 else Message(body=f"m{i}")
            for i in range(9)]
    send_to(broker, "tf.orders", sent)
    kept = [f"m{i}" for i in range(9) if i % 3 != 0]
    wait_queue(broker, "tf.orders", messages_added=len(kept))
    with connection(broker) as conn:
        r = receiver(conn, "tf.orders", credit=20)
        assert bodies(take_accept(r, len(kept))) == kept


def test_template_filter_refuses_a_configuration_where_it_is_set(broker):
    lines = [line for line in broker.log_text().splitlines()
             if "a configured filter is refused" in line and "tf-refused.#" in line]
    assert lines and "template-filter takes no configuration" in lines[0], lines


# -- router ---------------------------------------------------------------------------------

def test_template_router_spreads_an_anycast_address_evenly_over_its_queues(broker):
    send_to(broker, "tr.spread", [Message(body=f"m{i}") for i in range(10)])
    assert queue(broker, "tr-a")["messages_added"] == 5
    assert queue(broker, "tr-b")["messages_added"] == 5


def test_template_router_places_keys_where_the_java_partitioner_does(broker):
    topic = unique("tr.keyed")
    create_topic(broker.bootstrap, topic, PARTITIONS)
    send_to(broker, f"topic://{topic}", [keyed(f"m-{k.decode()}", k.decode())
                                         for k in JAVA_MURMUR2])
    placed = {s.record.key: s.partition for s in consume_all(broker.bootstrap, topic,
                                                             PARTITIONS)}
    assert placed == {k: java_partition(k, PARTITIONS) for k in JAVA_MURMUR2}


# -- codec ----------------------------------------------------------------------------------

def echo_socket(broker: Broker) -> socket.socket:
    return socket.create_connection(("127.0.0.1", broker.port("echo")), timeout=SOCKET_S_MAX)


def read_until(s: socket.socket, expected: bytes) -> bytes:
    got = b""
    deadline = time.monotonic() + SOCKET_S_MAX
    while len(got) < len(expected) and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def closed_by_peer(s: socket.socket) -> bool:
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True


def test_template_codec_echoes_lines_cut_anywhere(broker):
    with echo_socket(broker) as s:
        s.sendall(b"hel")
        time.sleep(0.1)
        s.sendall(b"lo\nwor")
        time.sleep(0.1)
        s.sendall(b"ld\r\n\n")
        assert read_until(s, b"hello\nworld\n\n") == b"hello\nworld\n\n"


def test_template_codec_keeps_each_connections_partial_line_apart(broker):
    with echo_socket(broker) as a, echo_socket(broker) as b:
        a.sendall(b"from-a")
        b.sendall(b"from-b\n")
        assert read_until(b, b"from-b\n") == b"from-b\n"
        a.sendall(b"-done\n")
        assert read_until(a, b"from-a-done\n") == b"from-a-done\n"


def test_template_codec_says_bye_and_closes_on_quit(broker):
    with echo_socket(broker) as s:
        s.sendall(b"one\nquit\nnever echoed\n")
        assert read_until(s, b"one\nbye\n") == b"one\nbye\n"
        assert closed_by_peer(s)
    broker.assert_healthy()


def test_template_codec_closes_a_connection_whose_line_outgrows_the_frame_limit(broker):
    with echo_socket(broker) as endless, echo_socket(broker) as polite:
        endless.sendall(b"x" * (ECHO_FRAME_BYTES_MAX + 1))
        assert closed_by_peer(endless)
        polite.sendall(b"still here\n")
        assert read_until(polite, b"still here\n") == b"still here\n", (
            "refusing one connection's input leaves the instance's other connections serving")
    broker.assert_healthy()
