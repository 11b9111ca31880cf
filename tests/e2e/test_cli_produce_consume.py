"""`sluice produce`, `sluice consume` and `sluice perf` against a running broker (issue 8):
load tools that speak AMQP 1.0 or Kafka directly, as Artemis's `producer` and `consumer` do.

Each test reads what the command printed with `--output json` (and `--verbose` bodies), and
checks it against what the broker holds: the queue's counters from the admin API, kcat's view
of a topic, a Kafka client's view of a group's committed offsets.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest
from confluent_kafka import TopicPartition

from amqp_clients import amqp_broker, declared, wait_queue
from clients import consumer, create_topic, kcat
from conftest import artifact, free_ports, unique

CLI_S_MAX = 120.0
# The exit codes the load commands document.
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
SVG = "{http://www.w3.org/2000/svg}"


def sluice(*args: str, timeout_s: float = CLI_S_MAX) -> subprocess.CompletedProcess:
    return subprocess.run([str(artifact("SLUICE_BIN")), *args], capture_output=True, text=True,
                          timeout=timeout_s)


def ok(*args: str) -> subprocess.CompletedProcess:
    done = sluice(*args)
    assert done.returncode == 0, f"sluice {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    return done


def ok_json(*args: str) -> dict:
    return json.loads(ok(*args, "--output", "json").stdout)


def verbose_json(*args: str) -> tuple[list[str], dict]:
    """`sluice consume ... --verbose --output json`: the bodies (JSON strings, one per line)
    and the summary (the last line)."""
    lines = ok(*args, "--verbose", "--output", "json").stdout.splitlines()
    assert lines, "no output"
    *bodies, summary = [json.loads(line) for line in lines]
    assert all(isinstance(b, str) for b in bodies), bodies
    return bodies, summary


def labels(threads: int, count: int, size: int) -> list[str]:
    """The bodies `sluice produce` sends: `THREAD:SEQ` padded with dots to `size`."""
    return [f"{t}:{i}".ljust(size, ".") for t in range(threads) for i in range(count)]


# -- AMQP ---------------------------------------------------------------------------------------

def test_amqp_produce_with_threads_then_consume_one_then_the_rest(make_broker):
    """The seeds' walk-through over AMQP: 2 threads x 10 messages of 10 bytes with a sleep,
    then a consumer that takes 1 and one that takes the other 19; none lost or duplicated,
    and the queue counts 20 added and 20 acknowledged."""
    b = amqp_broker(make_broker, extra=declared("orders", "anycast"))
    amqp = ["--amqp", b.address("amqp"), "--destination", "queue://orders"]

    produced = ok_json("produce", *amqp, "--message-count", "10", "--message-size", "10",
                       "--threads", "2", "--sleep", "100")
    assert produced["messages"] == 20 and produced["bytes"] == 200, produced
    assert [t["messages"] for t in produced["threads"]] == [10, 10]
    # Ten sleeps of 100 ms per thread.
    assert all(t["elapsed_s"] >= 0.9 for t in produced["threads"]), produced
    assert produced["protocol"] == "amqp" and produced["destination"] == "queue://orders"
    wait_queue(b, "orders", messages_added=20, message_count=20)

    first, one = verbose_json("consume", *amqp, "--message-count", "1")
    assert one["messages"] == 1 and len(first) == 1, (first, one)
    rest, summary = verbose_json("consume", *amqp, "--receive-timeout", "1000")
    assert summary["messages"] == 19 and len(rest) == 19, summary

    got = first + rest
    assert sorted(got) == sorted(labels(2, 10, 10)), got
    assert len(set(got)) == 20
    q = wait_queue(b, "orders", messages_added=20, messages_acknowledged=20, message_count=0,
                   delivering_count=0)
    assert q["consumer_count"] == 0, q


def test_amqp_human_output_names_threads_and_totals(make_broker):
    b = amqp_broker(make_broker)
    amqp = ["--amqp", b.address("amqp"), "--destination", unique("queue://human")]
    out = ok("produce", *amqp, "--message-count", "3", "--threads", "2").stdout
    assert out.startswith("produced 6 messages"), out
    assert "thread 0: 3 messages" in out and "thread 1: 3 messages" in out, out
    out = ok("consume", *amqp, "--receive-timeout", "500", "--verbose").stdout.splitlines()
    assert sorted(out[:6]) == sorted(labels(2, 3, 0)), out
    assert out[6].startswith("consumed 6 messages"), out


def test_amqp_messages_larger_than_a_frame_round_trip(make_broker):
    """Bodies of 600 kB come in transfer frames of the 256 KiB the client announces, three
    per message, and are assembled whole. (Sending splits at the broker's max-frame-size,
    which at 1 MiB is the broker's own largest message: the unit tests cover that side.)"""
    b = amqp_broker(make_broker)
    amqp = ["--amqp", b.address("amqp"), "--destination", "queue://big"]
    produced = ok_json("produce", *amqp, "--message-count", "3", "--message-size", "600000")
    assert produced["messages"] == 3 and produced["bytes"] == 1_800_000, produced
    bodies, consumed = verbose_json("consume", *amqp, "--receive-timeout", "1000")
    assert consumed["messages"] == 3 and consumed["bytes"] == 1_800_000, consumed
    assert sorted(bodies) == labels(1, 3, 600_000)


# -- Kafka --------------------------------------------------------------------------------------

def kcat_records(bootstrap: str, topic: str) -> list[tuple[int, str, str]]:
    """(partition, key, value) of every record, from the beginning to the end."""
    done = kcat("-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                "-f", "%p|%k|%s\\n")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    out = []
    for line in done.stdout.decode().splitlines():
        p, k, v = line.split("|", 2)
        out.append((int(p), k, v))
    return out


def test_kafka_produce_is_read_back_by_kcat(broker):
    topic = unique("cli-produce")
    create_topic(broker.bootstrap, topic, 3)
    kafka = ["--protocol", "kafka", "--kafka", broker.bootstrap, "--destination", topic]

    # With a sleep, each record is sent (and acknowledged) on its own: a batch of one.
    produced = ok_json("produce", *kafka, "--message-count", "50", "--threads", "2",
                       "--message-size", "16", "--sleep", "1")
    assert produced["messages"] == 100 and produced["bytes"] == 1600, produced
    records = kcat_records(broker.bootstrap, topic)
    assert sorted(v for _, _, v in records) == sorted(labels(2, 50, 16))
    # Keyless: batches go round robin over the partitions.
    assert {p for p, _, _ in records} == {0, 1, 2}, records
    per_partition = [sum(1 for p, _, _ in records if p == i) for i in range(3)]
    assert all(n >= 30 for n in per_partition), per_partition

    # Without a sleep, each thread's 1000 records go in batches, still spread.
    spread = unique("cli-batched")
    create_topic(broker.bootstrap, spread, 3)
    ok("produce", "--protocol", "kafka", "--kafka", broker.bootstrap, "--destination", spread,
       "--message-count", "3000")
    records = kcat_records(broker.bootstrap, spread)
    assert len(records) == 3000 and {p for p, _, _ in records} == {0, 1, 2}
    assert all(k == "" for _, k, _ in records)

    keyed = unique("cli-keyed")
    create_topic(broker.bootstrap, keyed, 3)
    ok("produce", "--protocol", "kafka", "--kafka", broker.bootstrap, "--destination", keyed,
       "--message-count", "10", "--key", "customer-7")
    records = kcat_records(broker.bootstrap, keyed)
    assert len(records) == 10
    assert len({p for p, _, _ in records}) == 1, records
    assert {k for _, k, _ in records} == {"customer-7"}


def kcat_produce(bootstrap: str, topic: str, values: list[str], path) -> None:
    path.write_text("".join(f"{v}\n" for v in values))
    done = kcat("-P", "-b", bootstrap, "-t", topic, "-X", "acks=all", "-l", str(path))
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_kcat_records_are_consumed_from_the_beginning_or_the_end(broker, tmp_path):
    topic = unique("cli-consume")
    create_topic(broker.bootstrap, topic, 2)
    values = [f"kcat-{i}" for i in range(30)]
    kcat_produce(broker.bootstrap, topic, values, tmp_path / "in.txt")
    kafka = ["--protocol", "kafka", "--kafka", broker.bootstrap, "--destination", topic]

    bodies, summary = verbose_json("consume", *kafka, "--from-beginning", "--message-count", "0",
                                   "--receive-timeout", "1000")
    assert sorted(bodies) == sorted(values) and summary["messages"] == 30, summary
    # Where it stopped: the log end of each partition, 30 records in all.
    assert sum(summary["threads"][0]["positions"].values()) == 30, summary

    # Two threads split the partitions, and still read everything once.
    bodies, summary = verbose_json("consume", *kafka, "--from-beginning", "--threads", "2",
                                   "--receive-timeout", "1000")
    assert sorted(bodies) == sorted(values), summary
    assert [len(t["positions"]) for t in summary["threads"]] == [1, 1], summary

    # From the end: nothing old.
    latest = ok_json("consume", *kafka, "--receive-timeout", "500")
    assert latest["messages"] == 0, latest


def test_a_group_commit_is_where_a_later_run_starts(broker, tmp_path):
    topic, group = unique("cli-group"), unique("cli-group")
    values = [f"g-{i:02d}" for i in range(20)]
    kcat_produce(broker.bootstrap, topic, values, tmp_path / "in.txt")
    kafka = ["--protocol", "kafka", "--kafka", broker.bootstrap, "--destination", topic,
             "--group", group, "--receive-timeout", "1000"]

    first, _ = verbose_json("consume", *kafka, "--from-beginning", "--message-count", "5")
    assert first == values[:5]
    # A Kafka client sees the commit.
    c = consumer(broker.bootstrap, **{"group.id": group})
    try:
        committed = c.committed([TopicPartition(topic, 0)], timeout=10)
    finally:
        c.close()
    assert committed[0].offset == 5, committed

    rest, summary = verbose_json("consume", *kafka)
    assert rest == values[5:], summary
    again = ok_json("consume", *kafka, "--from-beginning")
    assert again["messages"] == 0, again


def test_consuming_a_missing_topic_is_refused(broker):
    done = sluice("consume", "--protocol", "kafka", "--kafka", broker.bootstrap,
                  "--destination", unique("no-such-topic"), "--receive-timeout", "100")
    assert done.returncode == EXIT_REFUSED, done.stderr
    assert "refused by the broker" in done.stderr, done.stderr


# -- perf ---------------------------------------------------------------------------------------

def check_percentiles(p: dict) -> None:
    assert p["count"] > 0, p
    assert 0 < p["p50"] <= p["p90"] <= p["p99"] <= p["p99_9"] <= p["max"], p
    assert p["max"] < 30_000, p


def test_perf_reports_throughput_latency_and_a_chart(make_broker, tmp_path):
    b = amqp_broker(make_broker)
    chart = tmp_path / "perf.svg"
    report = ok_json("perf", "--amqp", b.address("amqp"), "--destination", "queue://perf",
                     "--duration", "3", "--rate", "400", "--message-size", "256",
                     "--producers", "2", "--consumers", "2", "--chart", str(chart))
    produced, consumed = report["produced"], report["consumed"]
    assert produced["messages"] > 0
    # Anycast: every message acknowledged is received once.
    assert consumed["messages"] == produced["messages"] == report["expected"], report
    assert report["missing"] == 0 and report["other_messages"] == 0, report
    assert produced["bytes"] == produced["messages"] * 256
    # --rate 400 for 3 s: about 1200 messages, never more.
    assert 600 <= produced["messages"] <= 1210, produced
    assert 200 <= produced["msg_per_s"] <= 450, produced
    assert consumed["mb_per_s"] > 0
    check_percentiles(report["latency_ms"])
    check_percentiles(report["ack_latency_ms"])
    assert report["ack_latency_ms"]["count"] == produced["messages"]
    assert report["latency_ms"]["count"] == consumed["messages"]
    samples = report["samples"]
    assert len(samples) >= 3, samples
    assert samples == sorted(samples, key=lambda s: s["t_s"])
    assert report["chart"] == str(chart)

    root = ET.parse(chart).getroot()
    assert root.tag == f"{SVG}svg"
    series = {p.get("data-series"): p for p in root.iter(f"{SVG}polyline")}
    assert set(series) == {"produced_msg_per_s", "consumed_msg_per_s", "latency_p50_ms",
                           "latency_p99_ms", "latency_max_ms", "ack_p99_ms"}
    for name, line in series.items():
        assert len(line.get("points").split()) == len(samples), name
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "time (s)" in texts and "produced msg/s" in texts, texts

    human = ok("perf", "--amqp", b.address("amqp"), "--destination", "queue://perf",
               "--message-count", "50", "--message-size", "64").stdout
    assert "p99.9" in human and "end-to-end" in human, human


def test_kafka_perf_splits_partitions_between_consumers(broker):
    topic = unique("cli-perf")
    create_topic(broker.bootstrap, topic, 2)
    report = ok_json("perf", "--protocol", "kafka", "--kafka", broker.bootstrap,
                     "--destination", topic, "--producers", "2", "--consumers", "2",
                     "--message-count", "2000", "--message-size", "100")
    assert report["produced"]["messages"] == 4000, report
    assert report["consumed"]["messages"] == 4000 and report["missing"] == 0, report
    check_percentiles(report["latency_ms"])
    check_percentiles(report["ack_latency_ms"])


# -- exit codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["produce", "--message-count", "1"],
    ["consume", "--receive-timeout", "100"],
    ["perf", "--duration", "1"],
])
@pytest.mark.parametrize("protocol", ["amqp", "kafka"])
def test_an_unreachable_broker_exits_3(command, protocol):
    port = free_ports(1)[0]
    done = sluice(*command, "--protocol", protocol, "--amqp", f"127.0.0.1:{port}",
                  "--kafka", f"127.0.0.1:{port}")
    assert done.returncode == EXIT_UNREACHABLE, (done.returncode, done.stderr)
    assert f"cannot reach 127.0.0.1:{port}" in done.stderr, done.stderr


@pytest.mark.parametrize("args", [
    ["produce", "--protocol", "mqtt"],
    ["produce", "--threads", "0"],
    ["perf", "--message-size", "4"],
    ["consume", "--protocol", "kafka", "--destination", "queue://orders"],
    ["produce", "--key", "k"],
])
def test_bad_usage_exits_2(args):
    port = free_ports(1)[0]
    done = sluice(*args, "--amqp", f"127.0.0.1:{port}")
    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr)
