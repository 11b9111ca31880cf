"""The tutorial (docs/tutorial.md), run command by command with Sluice's own CLI: the seeds'
Artemis walk-through (an anycast address, a durable queue, 20 messages of 10 bytes from two
producer threads sleeping a second, one consumer taking 1 and another the other 19, and the
queue's counters) and their Strimzi walk-through (a topic with 2 partitions and the KafkaTopic
configs, raised to 10, written and read from the beginning)."""

from __future__ import annotations

import json
import subprocess
import time

from amqp_clients import amqp_broker
from conftest import artifact

CLI_S_MAX = 120.0
# Two producer threads of 10 messages sleeping 1 s between them: about 10 s.
PRODUCE_S_MAX = 60.0


def sluice(broker, *args: str) -> subprocess.CompletedProcess:
    """`sluice ARGS` pointed at `broker` (its admin API, Kafka and AMQP listeners)."""
    env_args = {"SLUICE_URL": broker.admin_url}
    cmd = [str(artifact("SLUICE_BIN")), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_S_MAX,
                          env={**__import__("os").environ, **env_args})


def ok(broker, *args: str) -> str:
    done = sluice(broker, *args)
    assert done.returncode == 0, f"sluice {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def ok_json(broker, *args: str):
    return json.loads(ok(broker, *args, "--output", "json"))


def clients(broker, protocol: str) -> list[str]:
    if protocol == "kafka":
        return ["--protocol", "kafka", "--kafka", broker.address("kafka")]
    return ["--protocol", "amqp", "--amqp", broker.address("amqp")]


def queue_stat(broker, queue: str) -> dict:
    [stat] = ok_json(broker, "queue", "stat", "--queue", queue)
    return stat


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_artemis_walkthrough_two_consumers_take_1_and_19_of_20_and_the_counters_agree(
        make_broker):
    broker = amqp_broker(make_broker)
    ok(broker, "address", "create", "--name", "DavidAddress", "--anycast")
    ok(broker, "queue", "create", "--name", "gpteQueue", "--address", "DavidAddress",
       "--anycast", "--durable")
    table = ok(broker, "queue", "stat", "--queue", "gpteQueue")
    header = table.splitlines()[0].split()
    assert header == ["NAME", "ADDRESS", "CONSUMER_COUNT", "MESSAGE_COUNT", "MESSAGES_ADDED",
                      "DELIVERING_COUNT", "MESSAGES_ACKED", "ROUTING_TYPE"]
    fresh = queue_stat(broker, "gpteQueue")
    assert (fresh["consumer_count"], fresh["message_count"], fresh["messages_added"],
            fresh["messages_acknowledged"]) == (0, 0, 0, 0)

    fqqn = "queue://DavidAddress::gpteQueue"
    consume = [str(artifact("SLUICE_BIN")), "consume", *clients(broker, "amqp"),
               "--destination", fqqn, "--receive-timeout", "-1", "--output", "json"]
    first = subprocess.Popen(consume + ["--message-count", "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(consume + ["--message-count", "19"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: queue_stat(broker, "gpteQueue")["consumer_count"] == 2, 30,
                 "two consumers on gpteQueue")
        started = time.monotonic()
        produced = ok_json(broker, "produce", *clients(broker, "amqp"),
                           "--destination", "queue://DavidAddress", "--message-count", "10",
                           "--message-size", "10", "--sleep", "1000", "--threads", "2")
        # Ten messages a thread with a second between them: the sleep was honoured.
        assert time.monotonic() - started >= 9.0
        assert produced["messages"] == 20
        outs = [p.communicate(timeout=PRODUCE_S_MAX) for p in (first, second)]
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.kill()
    assert first.returncode == 0 and second.returncode == 0, outs
    took = [json.loads(out)["messages"] for out, _ in outs]
    assert took == [1, 19]

    def settled() -> bool:
        s = queue_stat(broker, "gpteQueue")
        return s["messages_acknowledged"] == 20 and s["consumer_count"] == 0

    wait_for(settled, 30, "20 acknowledged and the consumers gone")
    end = queue_stat(broker, "gpteQueue")
    assert (end["messages_added"], end["messages_acknowledged"], end["message_count"],
            end["delivering_count"]) == (20, 20, 0, 0)
    row = ok(broker, "queue", "stat", "--queue", "gpteQueue").splitlines()[1].split()
    assert row == ["gpteQueue", "DavidAddress", "0", "0", "20", "0", "20", "ANYCAST"]


def test_strimzi_walkthrough_a_topic_raised_from_2_to_10_partitions_is_written_and_read_back(
        make_broker):
    broker = amqp_broker(make_broker)
    ok(broker, "topic", "create", "--name", "lines", "--partitions", "2",
       "--config", "retention.ms=7200000", "--config", "segment.bytes=1073741824")
    described = ok(broker, "topic", "describe", "--name", "lines")
    assert "PartitionCount: 2" in described
    assert "retention.ms=7200000" in described and "segment.bytes=1073741824" in described

    ok(broker, "topic", "alter", "--name", "lines", "--partitions", "10",
       "--config", "retention.ms=14400000")
    topic = ok_json(broker, "topic", "describe", "--name", "lines")
    assert topic["partitions"] == 10
    configs = {c["name"]: c["value"] for c in topic["configs"]}
    assert configs["retention.ms"] == "14400000"
    assert configs["segment.bytes"] == "1073741824"

    produced = ok_json(broker, "produce", *clients(broker, "kafka"), "--destination", "lines",
                       "--message-count", "10", "--threads", "2")
    assert produced["messages"] == 20
    consumed = ok_json(broker, "consume", *clients(broker, "kafka"), "--destination", "lines",
                       "--from-beginning", "--message-count", "20")
    assert consumed["messages"] == 20

    kcat = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", "lines", "-o",
                           "beginning", "-e", "-q", "-f", "%p\n"],
                          capture_output=True, text=True, timeout=CLI_S_MAX)
    assert kcat.returncode == 0, kcat.stderr
    partitions = [int(p) for p in kcat.stdout.split()]
    assert len(partitions) == 20
    assert all(0 <= p < 10 for p in partitions)
