"""Declarative resources (issue 8): a TOML file of topics, users and plugins, applied when the
broker starts (`serve --resources FILE` or `resources.file`), applied again by the watcher when
the file changes, idempotently, with every difference reported; `sluice resources diff|apply|
status` through the admin API.

The seeds' Strimzi walk-through is the model: a `KafkaTopic` "lines" with 2 partitions, 2
replicas, retention.ms 7200000 and segment.bytes 1073741824, then the same resource with 10
partitions and retention.ms 14400000; here the edit is picked up by the broker itself and a
Kafka client sees it. Addresses and queues are applied through the address model's management
operations, which land separately; their end-to-end tests come with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka.admin import ConfigSource

import amqp_wire
from admin_helpers import admin, describe_topic_configs, source
from amqp_clients import AMQP_LISTENERS
from clients import Record, consume_all, create_topic, partition_count, produce_all
from conftest import artifact, toml_value
from policy_helpers import plugins

CLI_S_MAX = 120.0
# How often the brokers here check their file: short, so a test waits little for an edit.
POLL_MS = 200
# An edit is applied within a few polls; a plugin load compiles first.
APPLY_S_MAX = 60.0
# The exit codes `sluice resources` documents.
EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3

LINES = """
[[topics]]
name = "lines"
partitions = 2
replicas = 2
[topics.config]
"retention.ms" = 7200000
"segment.bytes" = 1073741824
"""

LINES_10 = LINES.replace("partitions = 2", "partitions = 10").replace(
    "7200000", "14400000")


def write(path: Path, text: str) -> None:
    """Replaces `path` whole, as editors save: the watcher never reads half a file."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def status(broker) -> dict:
    with urllib.request.urlopen(f"{broker.admin_url}/api/resources", timeout=10) as resp:
        assert resp.status == 200, f"GET /api/resources: {resp.status}"
        return json.load(resp)


def last_apply_ms(broker) -> int:
    last = status(broker)["last_apply"]
    return last["at_ms"] if last else 0


def wait_watched(broker, since_ms: int) -> dict:
    """The watcher's next report after `since_ms`."""
    deadline = time.monotonic() + APPLY_S_MAX
    while True:
        last = status(broker)["last_apply"]
        if last and last["origin"] == "watch" and last["at_ms"] > since_ms:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"no apply by the watcher after {APPLY_S_MAX}s; last: {last}\n"
                        f"{broker.log_tail()}", pytrace=False)
        time.sleep(0.05)


def edit(broker, path: Path, text: str) -> dict:
    """Writes `text` to the watched file and returns the watcher's report of it."""
    since = last_apply_ms(broker)
    # The report's time is in milliseconds: the next one must be later to be told apart.
    time.sleep(0.01)
    write(path, text)
    return wait_watched(broker, since)


def changes(report: dict, *actions: str) -> list[str]:
    """`action kind name: detail` of the report's changes (only `actions`, if given)."""
    return [f"{c['action']} {c['kind']} {c['name']}: {c['detail']}" for c in report["changes"]
            if not actions or c["action"] in actions]


def sluice(broker, *args: str, output_json: bool = False, url: str | None = None
           ) -> subprocess.CompletedProcess:
    """`sluice resources ARGS` against `broker`'s admin API."""
    cmd = [str(artifact("SLUICE_BIN")), "resources", "--url", url or broker.admin_url]
    if output_json:
        cmd += ["--output", "json"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=CLI_S_MAX)


def ok_json(broker, *args: str) -> dict:
    done = sluice(broker, *args, output_json=True)
    assert done.returncode == 0, f"sluice resources {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def with_resources_flag(broker, path: Path):
    """Makes `broker` start with `serve --resources PATH` (the flag, not the config key)."""
    command = broker.command
    broker.command = lambda: command() + ["--resources", str(path)]
    return broker


def topic_config(bootstrap: str, topic: str, name: str):
    entry = describe_topic_configs(admin(bootstrap), topic)[name]
    return entry.value, source(entry)


def test_the_seeds_kafka_topic_is_applied_edited_by_the_watcher_and_deleted_when_removed(
        make_broker, tmp_path):
    path = tmp_path / "resources.toml"
    write(path, LINES)
    b = with_resources_flag(
        make_broker(start=False, extra=f"\n[resources]\npoll-ms = {POLL_MS}\n"), path)
    b.start()

    started = status(b)
    assert started["file"] == str(path)
    assert started["managed"]["topics"] == ["lines"]
    report = started["last_apply"]
    assert (report["origin"], report["errors"]) == ("start", []), report
    assert changes(report) == [
        "create topic lines: partitions 2, retention.ms=7200000, segment.bytes=1073741824",
        "warning topic lines: replicas 2: this broker is a single node; each partition has "
        "1 copy",
    ]
    assert partition_count(b.bootstrap, "lines") == 2
    assert topic_config(b.bootstrap, "lines", "retention.ms") == (
        "7200000", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    assert topic_config(b.bootstrap, "lines", "segment.bytes")[0] == "1073741824"
    before = [Record(f"k{i}".encode(), f"before-{i}".encode()) for i in range(10)]
    produce_all(b.bootstrap, "lines", before)

    report = edit(b, path, LINES_10)
    assert report["errors"] == [], report
    assert changes(report, "create", "alter", "delete") == [
        "alter topic lines: partitions 2 -> 10",
        "alter topic lines: retention.ms 7200000 -> 14400000",
    ]
    assert partition_count(b.bootstrap, "lines") == 10
    assert topic_config(b.bootstrap, "lines", "retention.ms")[0] == "14400000"
    after = [Record(None, f"after-{p}".encode()) for p in range(10)]
    for p, record in enumerate(after):
        produce_all(b.bootstrap, "lines", [record], partition=p)
    read = consume_all(b.bootstrap, "lines", 10)
    assert sorted(s.record.value for s in read) == sorted(
        r.value for r in before + after)
    assert {s.partition for s in read if s.record.value.startswith(b"after-")} == set(range(10))

    again = ok_json(b, "apply", str(path))
    assert again["changed"] is False and again["errors"] == [], again
    assert again["summary"]["unchanged"] == 1 and again["summary"]["warning"] == 1
    assert changes(again, "create", "alter", "delete", "refused") == []
    diff = sluice(b, "diff", str(path))
    assert diff.returncode == 0, diff.stderr
    assert "nothing to change" in diff.stdout and "[dry run]" in diff.stdout, diff.stdout

    create_topic(b.bootstrap, "theirs", 1)
    report = edit(b, path, '[[topics]]\nname = "audit"\n')
    assert changes(report, "create", "alter", "delete") == [
        "create topic audit: partitions: the broker's default",
        "delete topic lines: no longer in the file",
    ]
    assert partition_count(b.bootstrap, "lines") is None
    assert partition_count(b.bootstrap, "theirs") == 1, "a topic the file never declared stays"

    b.restart()
    report = status(b)["last_apply"]
    assert (report["origin"], report["changed"], report["errors"]) == ("start", False, [])
    recorded = (b.data_dir / "resources" / "applied.toml").read_text()
    assert 'name = "audit"' in recorded and '"lines"' not in recorded, recorded
    b.assert_healthy()


def plain(user: str, password: str) -> bytes:
    return b"\0" + user.encode() + b"\0" + password.encode()


def logs_in(broker, user: str, password: str) -> bool:
    with amqp_wire.WireConnection(broker.port("amqp")) as wire:
        outcome = wire.sasl("PLAIN", plain(user, password))
        return outcome.field(0) == amqp_wire.SASL_OK


def test_a_user_in_the_file_logs_in_once_applied_and_no_longer_once_removed(
        make_broker, tmp_path):
    path = tmp_path / "resources.toml"
    write(path, "")
    b = make_broker(listeners=AMQP_LISTENERS, extra=(
        "\n[security]\nallow-anonymous = false\n"
        f"\n[resources]\nfile = {toml_value(path)}\npoll-ms = {POLL_MS}\n"))
    assert not logs_in(b, "alice", "wonderland")

    report = edit(b, path, '[[users]]\nname = "alice"\npassword = "wonderland"\n')
    assert changes(report) == ["create user alice: may log in with a password"]
    assert logs_in(b, "alice", "wonderland")

    report = edit(b, path, '[[users]]\nname = "alice"\npassword = "looking-glass"\n')
    assert changes(report) == ["alter user alice: password changed"]
    assert "looking-glass" not in json.dumps(status(b)), "a password in the report"
    assert not logs_in(b, "alice", "wonderland")
    assert logs_in(b, "alice", "looking-glass")

    # A file that does not parse applies nothing: alice stays.
    report = edit(b, path, '[[users]]\nname = "alice"\npasword = "typo"\n')
    assert report["changes"] == [] and "pasword" in report["errors"][0], report
    assert logs_in(b, "alice", "looking-glass")

    report = edit(b, path, "")
    assert changes(report) == ["delete user alice: no longer in the file"]
    assert not logs_in(b, "alice", "looking-glass")
    assert "looking-glass" not in (b.data_dir / "resources" / "applied.toml").read_text()
    b.assert_healthy()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_plugin_in_the_file_is_loaded_swapped_when_its_component_changes_and_unloaded(
        make_broker, tmp_path):
    """The hostile guest filters are plain filter components as long as nothing calls them:
    here none is attached to an address."""
    component = tmp_path / "filter.wasm"
    shutil.copyfile(artifact("SLUICE_GUEST_FILTER_LOOP"), component)
    path = tmp_path / "resources.toml"
    declared = (f'[[plugins]]\nkind = "filter"\nname = "declared"\n'
                f"source = {toml_value(component)}\n")
    write(path, declared)
    b = make_broker(extra=f"\n[resources]\nfile = {toml_value(path)}\npoll-ms = {POLL_MS}\n")

    loaded = [p for p in plugins(b) if p["name"] == "declared"]
    assert [(p["kind"], p["sha256"]) for p in loaded] == [("filter", sha256(component))]

    # A rebuilt component at the same path: the file is the same, the broker's plugin is not.
    shutil.copyfile(artifact("SLUICE_GUEST_FILTER_TRAP"), component)
    report = ok_json(b, "apply")
    assert report["source"] == str(path) and report["errors"] == [], report
    [change] = changes(report, "alter")
    assert change.startswith(f"alter plugin filter/declared: source {component}: content "
                             "changed"), change
    [swapped] = [p for p in plugins(b) if p["name"] == "declared"]
    assert swapped["sha256"] == sha256(component)

    report = edit(b, path, "")
    assert changes(report) == ["delete plugin filter/declared: no longer in the file"]
    assert not [p for p in plugins(b) if p["name"] == "declared"]
    b.assert_healthy()


def test_diff_and_apply_commands_report_check_and_refuse(make_broker, tmp_path):
    b = make_broker()
    path = tmp_path / "resources.toml"
    write(path, '[[topics]]\nname = "t1"\npartitions = 3\n')

    diff = ok_json(b, "diff", str(path))
    assert (diff["dry_run"], diff["changed"]) == (True, True)
    assert changes(diff) == ["create topic t1: partitions 3"]
    assert partition_count(b.bootstrap, "t1") is None, "a diff created the topic"

    applied = sluice(b, "apply", str(path))
    assert applied.returncode == 0, applied.stderr
    assert "create  topic  t1" in applied.stdout, applied.stdout
    assert "1 created, 0 altered, 0 deleted, 0 unchanged" in applied.stdout, applied.stdout
    assert partition_count(b.bootstrap, "t1") == 3

    dry = ok_json(b, "apply", "--dry-run", str(path))
    assert dry["dry_run"] is True and dry["changed"] is False

    write(path, '[[topics]]\nname = "t1"\npartitions = 3\n'
                '[[topics]]\nname = "t2"\n[topics.config]\n"no.such.setting" = 1\n')
    failed = sluice(b, "apply", str(path))
    assert failed.returncode == EXIT_REFUSED, failed
    assert "error: topic t2:" in failed.stderr and "no.such.setting" in failed.stderr, failed
    assert partition_count(b.bootstrap, "t2") is None

    write(path, "[[topics]\n")
    invalid = sluice(b, "apply", str(path))
    assert invalid.returncode == EXIT_REFUSED
    assert "invalid resources request" in invalid.stderr and "HTTP 400" in invalid.stderr
    no_file = sluice(b, "apply")
    assert no_file.returncode == EXIT_REFUSED
    assert "no resources file is configured" in no_file.stderr, no_file.stderr

    shown = ok_json(b, "status")
    assert shown["file"] is None and shown["managed"]["topics"] == ["t1"], shown
    human = sluice(b, "status")
    assert human.returncode == 0 and "managed topics: t1" in human.stdout, human.stdout

    unreachable = sluice(b, "status", url="http://127.0.0.1:1")
    assert unreachable.returncode == EXIT_UNREACHABLE, unreachable
    b.assert_healthy()


def test_a_resources_file_that_cannot_be_applied_fails_the_start(make_broker, tmp_path):
    path = tmp_path / "resources.toml"
    write(path, '[[topics]]\nname = "t"\npartitions = 0\n')
    b = make_broker(start=False, extra=f"\n[resources]\nfile = {toml_value(path)}\n")
    done = subprocess.run(b.command(), capture_output=True, text=True, timeout=CLI_S_MAX,
                          cwd=b.root)
    assert done.returncode != 0
    assert "topic t: partitions must be at least 1" in done.stderr, done.stderr

    write(path, '[[topics]]\nname = "t"\n[topics.config]\n"retention.ms" = "soon"\n')
    done = subprocess.run(b.command(), capture_output=True, text=True, timeout=CLI_S_MAX,
                          cwd=b.root)
    assert done.returncode != 0
    assert "applying resources file" in done.stderr and "retention.ms" in done.stderr, (
        done.stderr)


ORDERS = """
[[addresses]]
name = "orders"
routing-types = ["anycast"]

[[queues]]
name = "orders.eu"
address = "orders"
routing-type = "anycast"
max-consumers = -1
"""


def queue_stats(broker, name: str) -> dict:
    with urllib.request.urlopen(f"{broker.admin_url}/api/queues/{name}", timeout=10) as resp:
        return json.load(resp)


def addresses(broker) -> dict:
    with urllib.request.urlopen(f"{broker.admin_url}/api/addresses", timeout=10) as resp:
        return {a["name"]: a for a in json.load(resp)}


def test_an_address_and_queue_in_the_file_are_created_altered_in_place_and_removed(
        make_broker, tmp_path):
    path = tmp_path / "resources.toml"
    write(path, "")
    b = make_broker(listeners=AMQP_LISTENERS, extra=(
        f"\n[resources]\nfile = {toml_value(path)}\npoll-ms = {POLL_MS}\n"))

    report = edit(b, path, ORDERS)
    assert sorted((c["action"], c["kind"], c["name"]) for c in report["changes"]) == [
        ("create", "address", "orders"), ("create", "queue", "orders::orders.eu")], report
    assert addresses(b)["orders"]["routing_types"] == ["anycast"]
    assert queue_stats(b, "orders::orders.eu")["max_consumers"] == -1

    # Changed in place: the queue is the same queue, its messages stay.
    report = edit(b, path, ORDERS.replace("max-consumers = -1", "max-consumers = 3")
                  .replace('["anycast"]', '["anycast", "multicast"]'))
    assert [c["action"] for c in report["changes"] if c["action"] != "unchanged"] == \
        ["alter", "alter"], report
    assert queue_stats(b, "orders::orders.eu")["max_consumers"] == 3
    assert addresses(b)["orders"]["routing_types"] == ["anycast", "multicast"]

    # The same file again changes nothing.
    again = ok_json(b, "apply")
    assert [c for c in again["changes"] if c["action"] != "unchanged"] == [], again

    report = edit(b, path, "")
    assert sorted(c["action"] + " " + c["kind"] for c in report["changes"]) == \
        ["delete address", "delete queue"], report
    assert "orders" not in addresses(b)
    b.assert_healthy()
