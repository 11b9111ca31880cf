"""The admin API's operational views (issue 8): `GET /metrics` read by the Prometheus Python
client's parsers (the classic text format and, when asked for, OpenMetrics), with names,
types, labels and units as docs/metrics.md lists them, and counters that move by what Kafka
(confluent-kafka) and AMQP (python-qpid-proton) clients did; `GET /api/overview` and
`GET /api/connections` showing a live connection.
"""

from __future__ import annotations

import json
import struct
import time
import urllib.request

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families)
from prometheus_client.parser import text_string_to_metric_families
from proton import Message

import kafka_wire
from amqp_clients import (AMQP_LISTENERS, connection, receiver, send, take_accept,
                          wait_queue)
from clients import Record, consume_all, create_topic, produce_all
from conftest import Broker, unique

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
# What Prometheus sends when it scrapes.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
# Counters the broker moves on its own timers settle within this.
SETTLE_S_MAX = 10.0

# Families and their types, as the classic text parser names them (counters without _total).
TYPES = {
    "sluice_listener_connections": "gauge",
    "sluice_listener_connections_max": "gauge",
    "sluice_listener_connections_accepted": "counter",
    "sluice_listener_received_bytes": "counter",
    "sluice_listener_sent_bytes": "counter",
    "sluice_listener_codec_calls": "counter",
    "sluice_listener_connection_errors": "counter",
    "sluice_messages_in": "counter",
    "sluice_messages_out": "counter",
    "sluice_topic_partitions": "gauge",
    "sluice_topic_log_size_bytes": "gauge",
    "sluice_topic_log_start_offset": "gauge",
    "sluice_topic_log_end_offset": "gauge",
    "sluice_queue_consumers": "gauge",
    "sluice_queue_messages": "gauge",
    "sluice_queue_delivering_messages": "gauge",
    "sluice_queue_scheduled_messages": "gauge",
    "sluice_queue_skipped_messages": "gauge",
    "sluice_queue_groups": "gauge",
    "sluice_queue_messages_added": "counter",
    "sluice_queue_messages_acknowledged": "counter",
    "sluice_queue_messages_expired": "counter",
    "sluice_queue_messages_killed": "counter",
    "sluice_queue_messages_filtered": "counter",
    "sluice_queue_messages_replaced": "counter",
    "sluice_queue_messages_removed_by_ring": "counter",
    "sluice_plugin_info": "gauge",
    "sluice_plugin_healthy": "gauge",
    "sluice_plugin_loaded_timestamp_seconds": "gauge",
    "sluice_plugin_calls": "counter",
    "sluice_plugin_errors": "counter",
    "sluice_plugin_failures": "counter",
    "sluice_plugin_restarts": "counter",
    "sluice_plugin_messages_in": "counter",
    "sluice_plugin_messages_out": "counter",
    "sluice_plugin_memory_bytes": "gauge",
    "sluice_plugin_call_duration_seconds": "histogram",
    "sluice_storage_appends": "counter",
    "sluice_storage_written_bytes": "counter",
    "sluice_storage_fsync_duration_seconds": "histogram",
    "sluice_build_info": "gauge",
    "sluice_process_cpu_seconds": "counter",
    "sluice_process_resident_memory_bytes": "gauge",
    "sluice_process_virtual_memory_bytes": "gauge",
    "sluice_process_threads": "gauge",
    "sluice_process_open_fds": "gauge",
    "sluice_process_max_fds": "gauge",
    "sluice_process_start_time_seconds": "gauge",
}

# The label names of each family's samples (histograms add `le` to their buckets).
LABELS = {
    **{name: {"listener"} for name in TYPES if name.startswith("sluice_listener_")},
    "sluice_listener_connection_errors": {"listener", "cause"},
    "sluice_messages_in": {"interface"},
    "sluice_messages_out": {"interface"},
    **{name: {"topic"} for name in TYPES if name.startswith("sluice_topic_")},
    **{name: {"queue", "address"} for name in TYPES if name.startswith("sluice_queue_")},
    **{name: {"kind", "name"} for name in TYPES if name.startswith("sluice_plugin_")},
    "sluice_plugin_info": {"kind", "name", "plugin", "version"},
    "sluice_plugin_failures": {"kind", "name", "cause"},
    "sluice_build_info": {"version"},
}

UNITS = {"sluice_listener_received_bytes": "bytes", "sluice_topic_log_size_bytes": "bytes",
         "sluice_plugin_call_duration_seconds": "seconds",
         "sluice_storage_fsync_duration_seconds": "seconds",
         "sluice_process_start_time_seconds": "seconds", "sluice_listener_codec_calls": ""}


@pytest.fixture(scope="module")
def broker(module_tmp):
    """One broker with a Kafka and an AMQP listener; tests read differences of counters."""
    b = Broker(module_tmp / "broker", listeners=AMQP_LISTENERS).start()
    yield b
    b.teardown()


# -- the admin API ---------------------------------------------------------------------------

def get(broker: Broker, path: str, accept: str | None = None) -> tuple[str, str]:
    req = urllib.request.Request(f"{broker.admin_url}{path}")
    if accept is not None:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200, f"GET {path}: {resp.status}"
        return resp.headers["Content-Type"], resp.read().decode()


def get_json(broker: Broker, path: str):
    content_type, body = get(broker, path)
    assert content_type.startswith("application/json"), content_type
    return json.loads(body)


class Scrape:
    """One `GET /metrics` in the classic text format, parsed by prometheus_client's parser."""

    def __init__(self, broker: Broker) -> None:
        content_type, self.text = get(broker, "/metrics")
        assert content_type == PROMETHEUS_TEXT, content_type
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}

    def value(self, sample: str, **labels: str) -> float:
        """The one sample named `sample` whose labels include `labels`; 0 for a family that
        has no such sample yet (a topic or queue not made yet)."""
        found = [s.value for f in self.families.values() for s in f.samples
                 if s.name == sample and labels.items() <= s.labels.items()]
        assert len(found) <= 1, f"{len(found)} samples {sample}{labels}"
        return found[0] if found else 0.0

    def total(self, sample: str) -> float:
        return sum(s.value for f in self.families.values() for s in f.samples
                   if s.name == sample)

    def label_sets(self, family: str) -> list[dict[str, str]]:
        return [s.labels for s in self.families[family].samples]


def wait_scrape(broker: Broker, until, timeout_s: float = SETTLE_S_MAX) -> Scrape:
    """Scrapes until `until(scrape)` holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        scrape = Scrape(broker)
        if until(scrape):
            return scrape
        if time.monotonic() > deadline:
            pytest.fail(f"metrics did not settle within {timeout_s}s:\n{scrape.text}",
                        pytrace=False)
        time.sleep(0.1)


# -- tests -----------------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_metrics_parse_in_both_text_formats_with_the_documented_names_types_labels_and_units(
        broker):
    """Without an Accept header the classic text format comes back and prometheus_client's
    text parser types every family; asking as Prometheus does brings OpenMetrics, which the
    strict OpenMetrics parser reads with the same families and their units."""
    produce_all(broker.bootstrap, unique("m-shape"), [Record(b"k", b"v")])
    with connection(broker) as conn:
        send(conn, unique("m-shape-q"), [Message(body="x")])

    scrape = Scrape(broker)
    types = {name: f.type for name, f in scrape.families.items()}
    assert all(name.startswith("sluice_") for name in types), sorted(types)
    missing = {name: t for name, t in TYPES.items() if types.get(name) != t}
    assert not missing, f"families missing or of another type: {missing}; got {types}"
    undocumented = sorted(set(types) - set(TYPES))
    assert not undocumented, f"families docs/metrics.md does not list: {undocumented}"
    forbidden = {"id", "connection", "client_id", "peer", "client"}
    for name, family in scrape.families.items():
        for s in family.samples:
            keys = set(s.labels) - {"le"}
            assert keys == LABELS.get(name, set()), (name, s)
            assert not keys & forbidden, (name, s)
    for name, family in scrape.families.items():
        if family.type == "counter":
            assert all(s.name == f"{name}_total" for s in family.samples), family.samples

    content_type, text = get(broker, "/metrics", accept=PROMETHEUS_ACCEPT)
    assert content_type == OPENMETRICS
    assert text.endswith("# EOF\n")
    strict = {f.name: f for f in openmetrics_families(text)}
    assert {n: f.type for n, f in strict.items()} == types
    for name, unit in UNITS.items():
        assert strict[name].unit == unit, (name, strict[name].unit)


@pytest.mark.timeout(180)
def test_kafka_traffic_moves_listener_topic_storage_plugin_and_message_counters(broker):
    """25 records of 100 bytes produced with acks=all to a new 2-partition topic, then read
    back from the beginning: the topic's offsets and size, the broker interface's messages
    in and out, the Kafka listener's bytes and calls, storage's bytes and fsyncs and the codec
    plugin's calls all move by what was done."""
    topic = unique("m-kafka")
    n, size = 25, 100
    before = Scrape(broker)
    create_topic(broker.bootstrap, topic, 2)
    produce_all(broker.bootstrap, topic,
                [Record(f"k{i}".encode(), bytes([65 + i % 26]) * size) for i in range(n)])
    assert len(consume_all(broker.bootstrap, topic, 2)) == n
    after = wait_scrape(broker, lambda s: s.value(
        "sluice_storage_fsync_duration_seconds_count") > before.value(
        "sluice_storage_fsync_duration_seconds_count"))

    def moved(sample: str, **labels: str) -> float:
        return after.value(sample, **labels) - before.value(sample, **labels)

    assert after.value("sluice_topic_partitions", topic=topic) == 2
    assert after.value("sluice_topic_log_end_offset", topic=topic) == n
    assert after.value("sluice_topic_log_start_offset", topic=topic) == 0
    assert after.value("sluice_topic_log_size_bytes", topic=topic) > n * size
    assert moved("sluice_messages_in_total", interface="broker") == n
    # Whole batches from the fetch offset: each record read once by one consumer.
    assert moved("sluice_messages_out_total", interface="broker") == n
    assert moved("sluice_messages_in_total", interface="queues") == 0
    assert moved("sluice_storage_written_bytes_total") > n * size
    assert moved("sluice_storage_appends_total") >= 1
    kafka = {"listener": "kafka"}
    assert moved("sluice_listener_connections_accepted_total", **kafka) >= 3, (
        "the admin client, the producer and the consumer each connect")
    assert moved("sluice_listener_received_bytes_total", **kafka) > n * size
    assert moved("sluice_listener_sent_bytes_total", **kafka) > n * size
    assert moved("sluice_listener_codec_calls_total", **kafka) >= 3
    for cause in ("protocol", "plugin"):
        assert moved("sluice_listener_connection_errors_total", cause=cause, **kafka) == 0
    assert moved("sluice_plugin_calls_total", kind="codec", name="kafka") >= 3
    info = [labels for labels in after.label_sets("sluice_plugin_info")
            if labels["kind"] == "codec" and labels["name"] == "kafka"]
    assert len(info) == 1 and info[0]["version"], info
    assert after.value("sluice_plugin_call_duration_seconds_count", kind="codec",
                       name="kafka") == after.value("sluice_plugin_calls_total", kind="codec",
                                                    name="kafka")


@pytest.mark.timeout(180)
def test_amqp_traffic_moves_the_queue_counters_and_the_queues_interface(broker):
    """10 messages sent to a new anycast queue over AMQP and taken by a receiver: the queue's
    added and acknowledged counters, the queues interface's messages in and out and the AMQP
    listener's bytes move by that much; the queue's internal log is not a topic."""
    name = unique("m-jobs")
    n = 10
    before = Scrape(broker)
    with connection(broker) as conn:
        send(conn, f"queue://{name}", [Message(body=f"job-{i}") for i in range(n)])
        r = receiver(conn, f"queue://{name}")
        assert len(take_accept(r, n)) == n
        wait_queue(broker, name, pump_while=(conn,), messages_added=n,
                   messages_acknowledged=n, message_count=0, consumer_count=1)
        during = Scrape(broker)
    q = {"queue": name, "address": name}
    assert during.value("sluice_queue_consumers", **q) == 1
    after = wait_scrape(broker, lambda s: s.value("sluice_queue_consumers", **q) == 0)
    assert after.value("sluice_queue_messages_added_total", **q) == n
    assert after.value("sluice_queue_messages_acknowledged_total", **q) == n
    assert after.value("sluice_queue_messages", **q) == 0
    assert after.value("sluice_queue_delivering_messages", **q) == 0

    def moved(sample: str, **labels: str) -> float:
        return after.value(sample, **labels) - before.value(sample, **labels)

    assert moved("sluice_messages_in_total", interface="queues") == n
    assert moved("sluice_messages_out_total", interface="queues") == n
    assert moved("sluice_messages_in_total", interface="broker") == 0
    amqp = {"listener": "amqp"}
    assert moved("sluice_listener_connections_accepted_total", **amqp) == 1
    assert moved("sluice_listener_received_bytes_total", **amqp) > 0
    assert moved("sluice_listener_sent_bytes_total", **amqp) > 0
    assert moved("sluice_plugin_calls_total", kind="codec", name="amqp") >= 2
    topics = [labels["topic"] for labels in after.label_sets("sluice_topic_partitions")]
    assert not [t for t in topics if t.startswith("__sluice")], topics


@pytest.mark.timeout(120)
def test_overview_and_connections_show_a_live_connection_until_it_closes(broker):
    """A raw Kafka connection that sent one ApiVersions request is listed with its listener,
    peer, start time and exact bytes in and out, and counted open by the overview and the
    listener gauge; once it closes it is gone from all three."""
    sock = kafka_wire.connect(broker.port("kafka"))
    try:
        started_ms = time.time() * 1000
        request = kafka_wire.api_versions_v0(7)
        sock.sendall(request)
        response = kafka_wire.read_frame(sock)
        peer = "%s:%d" % sock.getsockname()

        def mine() -> list[dict]:
            return [c for c in get_json(broker, "/api/connections") if c["peer"] == peer]

        deadline = time.monotonic() + SETTLE_S_MAX
        while not (found := mine()) or found[0]["bytes_out"] < len(response) + 4:
            assert time.monotonic() < deadline, get_json(broker, "/api/connections")
            time.sleep(0.05)
        conn = found[0]
        assert set(conn) == {"id", "listener", "peer", "since_ms", "bytes_in", "bytes_out"}
        assert conn["listener"] == "kafka"
        assert isinstance(conn["id"], int) and conn["id"] > 0
        assert abs(conn["since_ms"] - started_ms) < 60_000, conn
        assert (conn["bytes_in"], conn["bytes_out"]) == (len(request), len(response) + 4)

        overview = get_json(broker, "/api/overview")
        assert set(overview) == {"version", "node_id", "cluster_id", "uptime_s", "connections",
                                 "messages_in", "bytes_in", "messages_out", "bytes_out",
                                 "topics", "queues"}
        assert overview["connections"] >= 1
        assert isinstance(overview["cluster_id"], str) and overview["cluster_id"]
        assert overview["version"] and overview["uptime_s"] >= 0
        scrape = Scrape(broker)
        assert scrape.value("sluice_listener_connections", listener="kafka") >= 1
        # Totals agree with the metrics they add up (nothing else runs meanwhile).
        assert overview["bytes_in"] == scrape.total("sluice_listener_received_bytes_total")
        assert overview["bytes_out"] == scrape.total("sluice_listener_sent_bytes_total")
        assert overview["messages_in"] == scrape.total("sluice_messages_in_total")
        assert overview["messages_out"] == scrape.total("sluice_messages_out_total")
        assert overview["connections"] == scrape.total("sluice_listener_connections")
    finally:
        sock.close()
    deadline = time.monotonic() + SETTLE_S_MAX
    while mine():
        assert time.monotonic() < deadline, "the closed connection is still listed"
        time.sleep(0.05)
    assert get_json(broker, "/api/overview")["connections"] == Scrape(broker).total(
        "sluice_listener_connections")


@pytest.mark.timeout(60)
def test_a_malformed_frame_counts_one_protocol_error_on_its_listener(broker):
    """A Kafka frame announcing a negative size is refused by the codec: the connection
    closes and the listener's protocol errors go up by exactly one."""
    labels = {"listener": "kafka", "cause": "protocol"}
    before = Scrape(broker).value("sluice_listener_connection_errors_total", **labels)
    sock = kafka_wire.connect(broker.port("kafka"))
    try:
        sock.sendall(struct.pack(">i", -1))
        closed, _ = kafka_wire.wait_closed(sock, SETTLE_S_MAX)
        assert closed, "the broker kept a connection that sent a negative frame size"
    finally:
        sock.close()
    wait_scrape(broker, lambda s: s.value("sluice_listener_connection_errors_total",
                                          **labels) == before + 1)
    broker.assert_healthy()

