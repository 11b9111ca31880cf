"""`sluice topic` and `sluice group` against a running broker (issue 8): every command, its
`--output json` parsed, its exit codes (1 refused, 2 bad usage, 3 unreachable), and what real
Kafka clients see of it: a topic the CLI creates or grows is the one confluent-kafka lists and
produces to; a group a confluent-kafka consumer left behind shows its lag; offsets the CLI
resets are where a new consumer of the group starts."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from confluent_kafka.admin import ConfigSource

from admin_helpers import ADMIN_S_MAX, active_consumer, admin, consume_n, describe_topic_configs
from clients import Record, consume_all, partition_count, produce_all
from conftest import artifact, free_ports, unique

CLI_S_MAX = 60.0
# The exit codes `sluice topic` and `sluice group` document.
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
# Groups form at once: the tests wait for consumers, not for the coordinator's delay.
GROUPS = {"initial-rebalance-delay-ms": 0}


def sluice(broker, *args: str, output_json: bool = False) -> subprocess.CompletedProcess:
    """`sluice ARGS` against `broker`'s admin API (`--url` goes after the command group)."""
    cmd = [str(artifact("SLUICE_BIN")), args[0], "--url", broker.admin_url]
    if output_json:
        cmd += ["--output", "json"]
    return subprocess.run(cmd + list(args[1:]), capture_output=True, text=True,
                          timeout=CLI_S_MAX)


def ok(broker, *args: str) -> str:
    done = sluice(broker, *args)
    assert done.returncode == 0, f"sluice {' '.join(args)}: {done.stderr}"
    return done.stdout


def ok_json(broker, *args: str):
    done = sluice(broker, *args, output_json=True)
    assert done.returncode == 0, f"sluice {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def refused(broker, *args: str, code: int = EXIT_REFUSED) -> str:
    done = sluice(broker, *args)
    assert done.returncode == code, (f"sluice {' '.join(args)} exited {done.returncode}, "
                                     f"expected {code}: {done.stdout}{done.stderr}")
    return done.stderr


def api(broker, method: str, path: str, body=None) -> tuple[int, object]:
    """One admin API request: the status and the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(broker.admin_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=CLI_S_MAX) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def configs_by_name(topic: dict) -> dict[str, dict]:
    return {c["name"]: c for c in topic["configs"]}


def positions(group: dict, topic: str) -> dict[int, dict]:
    return {o["partition"]: o for o in group["offsets"] if o["topic"] == topic}


def produce_to(broker, topic: str, partition: int, n: int, tag: str = "m",
               timestamp_ms: int | None = None) -> None:
    produce_all(broker.bootstrap, topic,
                [Record(f"{tag}{i}".encode(), f"{tag}-{i}".encode(), timestamp_ms=timestamp_ms)
                 for i in range(n)], partition=partition)


def consume_in_group(broker, topic: str, group: str, n: int) -> list:
    """A consumer joins `group`, reads `n` messages committing each, and leaves."""
    c = active_consumer(broker.bootstrap, topic, group)
    try:
        return consume_n(c, n)
    finally:
        c.close()


@pytest.mark.timeout(180)
def test_topic_commands_create_alter_and_delete_the_topics_kafka_clients_use(make_broker):
    """The seeds' Kafka walk-through with Sluice's commands: a topic with 2 partitions and the
    KafkaTopic resource's configs, raised to 10 partitions; a Kafka client sees each step,
    produces to partition 9 and reads everything back from the beginning."""
    b = make_broker()
    topic = unique("lines")
    created = ok_json(b, "topic", "create", "--name", topic, "--partitions", "2",
                      "--replicas", "1", "--config", "retention.ms=7200000",
                      "--config", "segment.bytes=1073741824")
    assert created["name"] == topic and created["partitions"] == 2 and created["replicas"] == 1
    configs = configs_by_name(created)
    assert configs["retention.ms"]["value"] == "7200000"
    assert configs["retention.ms"]["source"] == "topic"
    assert configs["segment.bytes"]["value"] == "1073741824"
    assert configs["segment.bytes"]["source"] == "topic"
    assert configs["cleanup.policy"]["source"] in ("default", "broker")
    assert [p["partition"] for p in created["partition_info"]] == [0, 1]
    assert all(p["log_start"] == p["high_watermark"] == p["log_end"] == 0
               for p in created["partition_info"])

    # What a Kafka client sees: the partitions, and the settings as set on the topic.
    assert partition_count(b.bootstrap, topic) == 2
    kafka_configs = describe_topic_configs(admin(b.bootstrap), topic)
    assert kafka_configs["retention.ms"].value == "7200000"
    assert ConfigSource(kafka_configs["retention.ms"].source) == \
        ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert kafka_configs["segment.bytes"].value == "1073741824"

    listed = ok_json(b, "topic", "list")
    assert {"name": topic, "partitions": 2, "replicas": 1, "internal": False} in listed
    assert [t["name"] for t in listed] == sorted(t["name"] for t in listed)
    table = ok(b, "topic", "list").splitlines()
    assert table[0].split() == ["NAME", "PARTITIONS", "REPLICAS"]
    assert [topic, "2", "1"] in [line.split() for line in table[1:]]

    human = ok(b, "topic", "describe", "--name", topic).splitlines()
    assert human[0].startswith(f"Topic: {topic}\tPartitionCount: 2\tReplicationFactor: 1\t"
                               "Configs: "), human
    assert sorted(human[0].split("Configs: ")[1].split(",")) == [
        "retention.ms=7200000", "segment.bytes=1073741824"]
    assert len(human) == 3 and human[1].startswith(f"\tTopic: {topic}\tPartition: 0\t"), human

    grown = ok_json(b, "topic", "alter", "--name", topic, "--partitions", "10")
    assert grown["partitions"] == 10 and len(grown["partition_info"]) == 10
    assert configs_by_name(grown)["retention.ms"]["value"] == "7200000"
    assert partition_count(b.bootstrap, topic) == 10

    produce_to(b, topic, 9, 5, tag="nine")
    produce_to(b, topic, 0, 3, tag="zero")
    described = ok_json(b, "topic", "describe", "--name", topic)
    by_partition = {p["partition"]: p for p in described["partition_info"]}
    assert by_partition[9]["high_watermark"] == 5 and by_partition[9]["log_end"] == 5
    assert by_partition[0]["high_watermark"] == 3
    assert all(by_partition[p]["high_watermark"] == 0 for p in range(1, 9))
    read = consume_all(b.bootstrap, topic, 10)
    assert sorted((s.partition, s.record.value) for s in read) == sorted(
        [(9, f"nine-{i}".encode()) for i in range(5)]
        + [(0, f"zero-{i}".encode()) for i in range(3)])

    # Settings change one by one: set one, drop another back to its default.
    altered = ok_json(b, "topic", "alter", "--name", topic, "--config", "retention.ms=3600000",
                      "--delete-config", "segment.bytes")
    configs = configs_by_name(altered)
    assert configs["retention.ms"]["value"] == "3600000"
    assert configs["retention.ms"]["source"] == "topic"
    assert configs["segment.bytes"]["source"] != "topic"
    assert describe_topic_configs(admin(b.bootstrap), topic)["retention.ms"].value == "3600000"
    human = ok(b, "topic", "alter", "--name", topic, "--config", "cleanup.policy=compact")
    assert human.startswith(f"Topic: {topic}\tPartitionCount: 10\t"), human
    assert "cleanup.policy=compact" in human.splitlines()[0]

    assert ok_json(b, "topic", "delete", "--name", topic) == {"deleted": topic}
    assert partition_count(b.bootstrap, topic) is None
    assert topic not in [t["name"] for t in ok_json(b, "topic", "list")]
    assert "HTTP 404" in refused(b, "topic", "describe", "--name", topic)
    b.assert_healthy()


@pytest.mark.timeout(120)
def test_topic_commands_refuse_what_the_broker_refuses_and_change_nothing(make_broker):
    b = make_broker()
    topic = unique("refusals")
    ok(b, "topic", "create", "--name", topic, "--partitions", "3")
    assert "Created topic" in ok(b, "topic", "create", "--name", unique("plain"))

    assert "exists" in refused(b, "topic", "create", "--name", topic)
    assert "single node" in refused(b, "topic", "create", "--name", unique("r"),
                                    "--replicas", "3")
    err = refused(b, "topic", "create", "--name", unique("c"), "--config", "no.such.setting=1")
    assert "no.such.setting" in err
    err = refused(b, "topic", "create", "--name", "bad name!", "--partitions", "1")
    assert "HTTP 400" in err, err
    assert "HTTP 400" in refused(b, "topic", "create", "--name", unique("z"),
                                 "--partitions", "0")

    # Fewer partitions: refused. A bad setting with more partitions: refused, and the
    # partitions are not added either (every change is checked before any is made).
    assert "3 partitions" in refused(b, "topic", "alter", "--name", topic, "--partitions", "2")
    err = refused(b, "topic", "alter", "--name", topic, "--partitions", "5",
                  "--config", "retention.ms=soon")
    assert "retention.ms" in err
    assert ok_json(b, "topic", "describe", "--name", topic)["partitions"] == 3
    assert partition_count(b.bootstrap, topic) == 3
    # The current count is no change; the settings still apply.
    same = ok_json(b, "topic", "alter", "--name", topic, "--partitions", "3",
                   "--config", "retention.ms=1000")
    assert same["partitions"] == 3
    assert configs_by_name(same)["retention.ms"]["value"] == "1000"

    missing = unique("missing")
    for args in (("describe", "--name", missing), ("delete", "--name", missing),
                 ("alter", "--name", missing, "--partitions", "4")):
        assert "HTTP 404" in refused(b, "topic", *args)
    # The logs behind queues are not Kafka topics here.
    internal = "__sluice.q.1"
    assert "HTTP 404" in refused(b, "topic", "describe", "--name", internal)
    assert "HTTP 404" in refused(b, "topic", "delete", "--name", internal)
    assert "reserved" in refused(b, "topic", "create", "--name", "__sluice.mine")
    assert not any(t["name"].startswith("__sluice.") for t in ok_json(b, "topic", "list"))

    refused(b, "topic", "create", "--partitions", "2", code=EXIT_USAGE)
    refused(b, "topic", "create", "--name", "x", "--config", "novalue", code=EXIT_USAGE)
    refused(b, "topic", "alter", "--name", topic, code=EXIT_USAGE)
    refused(b, "topic", "frobnicate", code=EXIT_USAGE)
    [closed] = free_ports(1)
    unreachable = subprocess.run([str(artifact("SLUICE_BIN")), "topic", "--url",
                                  f"http://127.0.0.1:{closed}", "list"],
                                 capture_output=True, text=True, timeout=CLI_S_MAX)
    assert unreachable.returncode == EXIT_UNREACHABLE, unreachable.stderr
    assert "cannot reach" in unreachable.stderr
    b.assert_healthy()


@pytest.mark.timeout(180)
def test_group_describe_shows_each_partitions_lag_behind_a_real_consumer_group(make_broker):
    """A confluent-kafka consumer group reads and commits part of a 3-partition topic and
    leaves; more is produced. Describe shows per partition what is committed, the log's end and
    the lag (a partition never committed lags by its whole log), and the total; with a member
    active, which member reads which partition."""
    b = make_broker(groups=GROUPS)
    topic = unique("lag")
    ok(b, "topic", "create", "--name", topic, "--partitions", "3")
    produce_to(b, topic, 0, 10)
    produce_to(b, topic, 1, 6)
    group = unique("lag-g")
    consume_in_group(b, topic, group, 16)
    produce_to(b, topic, 0, 5, tag="later")
    produce_to(b, topic, 2, 4, tag="never-read")

    listed = {g["group"]: g for g in ok_json(b, "group", "list")}
    assert listed[group] == {"group": group, "state": "Empty", "protocol_type": "consumer",
                             "members": 0}
    table = ok(b, "group", "list").splitlines()
    assert table[0].split() == ["GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"]
    assert [group, "Empty", "consumer", "0"] in [line.split() for line in table[1:]]

    described = ok_json(b, "group", "describe", "--group", group)
    assert described["state"] == "Empty" and described["members"] == []
    at = positions(described, topic)
    assert {p: (o["committed"], o["log_end"], o["lag"]) for p, o in at.items()} == {
        0: (10, 15, 5), 1: (6, 6, 0), 2: (None, 4, 4)}
    assert described["lag"] == 9

    human = ok(b, "group", "describe", "--group", group).splitlines()
    assert human[0].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]
    rows = {line.split()[2]: line.split() for line in human[1:4]}
    assert rows["0"] == [group, topic, "0", "10", "15", "5", "-", "-", "-"]
    assert rows["2"] == [group, topic, "2", "-", "4", "4", "-", "-", "-"]
    assert f"Consumer group '{group}' is Empty and has no active members. Total lag: 9." \
        in human

    # With a member reading, the group is Stable and each partition names its reader.
    c = active_consumer(b.bootstrap, topic, group)
    try:
        consume_n(c, 5 + 4)
        described = ok_json(b, "group", "describe", "--group", group)
        assert described["state"] == "Stable" and described["protocol"], described
        [member] = described["members"]
        assert member["client_id"] == f"{group}-member"
        assert sorted(p for a in member["assignment"] if a["topic"] == topic
                      for p in a["partitions"]) == [0, 1, 2]
        at = positions(described, topic)
        assert all(o["member_id"] == member["member_id"] for o in at.values())
        assert {p: o["lag"] for p, o in at.items()} == {0: 0, 1: 0, 2: 0}
        human = ok(b, "group", "describe", "--group", group)
        assert f"{group}-member" in human and "with 1 member. Total lag: 0." in human, human
    finally:
        c.close()

    assert "HTTP 404" in refused(b, "group", "describe", "--group", unique("no-such-group"))
    b.assert_healthy()


@pytest.mark.timeout(240)
def test_reset_offsets_plans_by_default_and_with_execute_moves_where_a_new_consumer_starts(
        make_broker):
    b = make_broker(groups=GROUPS)
    topic = unique("reset")
    ok(b, "topic", "create", "--name", topic, "--partitions", "2")
    old_ms = int(time.time() * 1000) - 3_600_000
    new_ms = int(time.time() * 1000) - 60_000
    produce_to(b, topic, 0, 5, tag="old", timestamp_ms=old_ms)
    produce_to(b, topic, 0, 5, tag="new", timestamp_ms=new_ms)
    produce_to(b, topic, 1, 10)
    group = unique("reset-g")
    consume_in_group(b, topic, group, 20)
    committed = {p: o["committed"] for p, o in
                 positions(ok_json(b, "group", "describe", "--group", group), topic).items()}
    assert committed == {0: 10, 1: 10}

    # Without --execute: the plan, and nothing committed.
    plan = ok_json(b, "group", "reset-offsets", "--group", group, "--to-earliest")
    assert plan["dry_run"] is True and plan["group"] == group
    assert sorted((o["topic"], o["partition"], o["previous"], o["new_offset"])
                  for o in plan["offsets"]) == [(topic, 0, 10, 0), (topic, 1, 10, 0)]
    done = sluice(b, "group", "reset-offsets", "--group", group, "--to-earliest")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["GROUP", "TOPIC", "PARTITION",
                                                   "PREVIOUS-OFFSET", "NEW-OFFSET"]
    assert [group, topic, "0", "10", "0"] in [line.split() for line in done.stdout.splitlines()]
    assert "--execute" in done.stderr
    still = positions(ok_json(b, "group", "describe", "--group", group), topic)
    assert {p: o["committed"] for p, o in still.items()} == {0: 10, 1: 10}

    # With --execute, partition 0 only: a new consumer of the group reads it all again and
    # nothing of partition 1.
    executed = ok_json(b, "group", "reset-offsets", "--group", group, "--topic", f"{topic}:0",
                       "--to-earliest", "--execute")
    assert executed["dry_run"] is False
    assert [(o["partition"], o["new_offset"]) for o in executed["offsets"]] == [(0, 0)]
    at = positions(ok_json(b, "group", "describe", "--group", group), topic)
    assert (at[0]["committed"], at[0]["lag"], at[1]["committed"]) == (0, 10, 10)
    again = consume_in_group(b, topic, group, 10)
    assert sorted((m.partition(), m.offset()) for m in again) == [(0, i) for i in range(10)]

    # Each way of saying where, on partition 0 (committed at 10 again by the consumer above).
    def reset_p0(*how: str) -> int:
        out = ok_json(b, "group", "reset-offsets", "--group", group, "--topic", f"{topic}:0",
                      *how, "--execute")
        [one] = out["offsets"]
        return one["new_offset"]

    assert reset_p0("--shift-by", "-3") == 7
    assert reset_p0("--shift-by", "-100") == 0  # clamped to the log start
    assert reset_p0("--to-offset", "1000") == 10  # clamped to the log end
    assert reset_p0("--to-latest") == 10
    at_new = datetime.fromtimestamp((new_ms - 1000) / 1000, tz=timezone.utc)
    assert reset_p0("--to-datetime", at_new.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z") == 5
    assert reset_p0("--to-offset", "2") == 2
    # Without --topic, every partition the group committed.
    everything = ok_json(b, "group", "reset-offsets", "--group", group, "--shift-by", "1",
                         "--execute")
    assert sorted((o["partition"], o["previous"], o["new_offset"])
                  for o in everything["offsets"]) == [(0, 2, 3), (1, 10, 10)]
    resumed = consume_in_group(b, topic, group, 7)
    assert sorted((m.partition(), m.offset()) for m in resumed) == [(0, i) for i in range(3, 10)]
    assert [m.value() for m in resumed if m.offset() == 5] == [b"new-0"]
    b.assert_healthy()


@pytest.mark.timeout(120)
def test_reset_offsets_is_refused_while_a_member_is_active_and_for_what_does_not_exist(
        make_broker):
    b = make_broker(groups=GROUPS)
    topic = unique("busy")
    ok(b, "topic", "create", "--name", topic, "--partitions", "1")
    produce_to(b, topic, 0, 4)
    group = unique("busy-g")
    c = active_consumer(b.bootstrap, topic, group)
    try:
        consume_n(c, 4)
        for extra in ((), ("--execute",)):
            err = refused(b, "group", "reset-offsets", "--group", group, "--to-earliest", *extra)
            assert "inactive" in err and "Stable" in err and "HTTP 409" in err, err
        at = positions(ok_json(b, "group", "describe", "--group", group), topic)
        assert at[0]["committed"] == 4
    finally:
        c.close()
    # Once the member left, the same reset goes through.
    ok(b, "group", "reset-offsets", "--group", group, "--to-earliest", "--execute")
    assert positions(ok_json(b, "group", "describe", "--group", group), topic)[0][
        "committed"] == 0

    # A group that committed nothing: nothing to shift from, and no topics to choose.
    fresh = unique("fresh-g")
    assert "no committed offset" in refused(b, "group", "reset-offsets", "--group", fresh,
                                            "--topic", topic, "--shift-by", "1", "--execute")
    assert "HTTP 404" in refused(b, "group", "reset-offsets", "--group", fresh,
                                 "--to-earliest")
    assert "HTTP 404" in refused(b, "group", "reset-offsets", "--group", fresh,
                                 "--topic", unique("ghost"), "--to-earliest")
    assert "HTTP 404" in refused(b, "group", "reset-offsets", "--group", fresh,
                                 "--topic", f"{topic}:7", "--to-earliest")
    # A group that does not exist yet may be given offsets on a named topic, as Kafka allows.
    made = ok_json(b, "group", "reset-offsets", "--group", fresh, "--topic", topic,
                   "--to-offset", "1", "--execute")
    assert [(o["previous"], o["new_offset"]) for o in made["offsets"]] == [(None, 1)]
    assert positions(ok_json(b, "group", "describe", "--group", fresh), topic)[0][
        "lag"] == 3

    refused(b, "group", "reset-offsets", "--group", group, code=EXIT_USAGE)
    refused(b, "group", "reset-offsets", "--group", group, "--to-earliest", "--to-latest",
            code=EXIT_USAGE)
    refused(b, "group", "reset-offsets", "--group", group, "--to-datetime", "yesterday",
            code=EXIT_USAGE)
    refused(b, "group", "reset-offsets", "--group", group, "--topic", f"{topic}:x",
            "--to-earliest", code=EXIT_USAGE)
    refused(b, "group", "reset-offsets", "--group", group, "--to-earliest", "--execute",
            "--dry-run", code=EXIT_USAGE)
    refused(b, "group", "describe", code=EXIT_USAGE)
    [closed] = free_ports(1)
    unreachable = subprocess.run([str(artifact("SLUICE_BIN")), "group", "--url",
                                  f"http://127.0.0.1:{closed}", "list"],
                                 capture_output=True, text=True, timeout=CLI_S_MAX)
    assert unreachable.returncode == EXIT_UNREACHABLE, unreachable.stderr
    b.assert_healthy()


@pytest.mark.timeout(120)
def test_the_admin_api_answers_topics_and_groups_with_the_statuses_it_documents(make_broker):
    """The endpoints the CLI uses, called as the console and other clients call them."""
    b = make_broker(groups=GROUPS)
    topic = unique("api")
    status, created = api(b, "POST", "/api/topics",
                          {"name": topic, "configs": {"retention.ms": 7200000,
                                                      "cleanup.policy": "delete"}})
    assert status == 201, created
    assert created["partitions"] == 1  # the broker's topics.default-partitions
    assert configs_by_name(created)["retention.ms"] == {
        **configs_by_name(created)["retention.ms"], "value": "7200000", "source": "topic"}
    assert api(b, "POST", "/api/topics", {"name": topic})[0] == 409
    assert api(b, "POST", "/api/topics", {"name": unique("r"), "replicas": 2})[0] == 422
    assert api(b, "POST", "/api/topics", {"name": unique("u"), "colour": "red"})[0] == 400
    assert api(b, "POST", "/api/topics", {"name": unique("n"),
                                          "configs": {"retention.ms": None}})[0] == 400
    status, error = api(b, "GET", "/api/topics/" + unique("none"))
    assert status == 404 and "error" in error

    status, altered = api(b, "PATCH", f"/api/topics/{topic}",
                          {"partitions": 4, "configs": {"segment.bytes": "1048576"},
                           "delete_configs": ["retention.ms"]})
    assert status == 200 and altered["partitions"] == 4, altered
    assert configs_by_name(altered)["segment.bytes"]["source"] == "topic"
    assert configs_by_name(altered)["retention.ms"]["source"] != "topic"
    assert api(b, "PATCH", f"/api/topics/{topic}",
               {"configs": {"x": "1"}, "delete_configs": ["x"]})[0] == 400
    assert api(b, "PATCH", f"/api/topics/{topic}", {"partitions": 1})[0] == 400

    produce_to(b, topic, 2, 3)
    group = unique("api-g")
    consume_in_group(b, topic, group, 3)
    status, groups = api(b, "GET", "/api/groups")
    assert status == 200 and {"group": group, "state": "Empty", "protocol_type": "consumer",
                              "members": 0} in groups
    status, described = api(b, "GET", f"/api/groups/{group}")
    assert status == 200 and described["lag"] == 0
    # `dry_run` left out plans only, as Kafka's tool does without --execute.
    status, plan = api(b, "POST", f"/api/groups/{group}/reset-offsets", {"to": "earliest"})
    assert status == 200 and plan["dry_run"] is True, plan
    assert positions(api(b, "GET", f"/api/groups/{group}")[1], topic)[2]["committed"] == 3
    status, done = api(b, "POST", f"/api/groups/{group}/reset-offsets",
                       {"topic": topic, "partitions": [2], "to": {"shift_by": -2},
                        "dry_run": False})
    assert status == 200 and [(o["partition"], o["new_offset"]) for o in done["offsets"]] == [
        (2, 1)], done
    assert api(b, "GET", f"/api/groups/{group}")[1]["lag"] == 2
    assert api(b, "POST", f"/api/groups/{group}/reset-offsets", {"to": "sideways"})[0] == 400
    assert api(b, "POST", f"/api/groups/{group}/reset-offsets",
               {"partitions": [0], "to": "earliest"})[0] == 400

    assert api(b, "DELETE", f"/api/topics/{topic}") == (200, {"deleted": topic})
    # Deleting the topic forgets the group's offsets for it, as a Kafka client's DeleteTopics;
    # the group, left with nothing, goes at the coordinator's next tick.
    status, after = api(b, "GET", f"/api/groups/{group}")
    assert status == 404 or (after["offsets"] == [] and after["lag"] == 0), after
    b.assert_healthy()
