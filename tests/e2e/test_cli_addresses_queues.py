"""`sluice address` and `sluice queue` (issue 8): Artemis's `artemis address|queue` commands
against a running broker, through its admin API (`/api/addresses`, `/api/queues`).

Every command runs twice where it prints: `--output json`, parsed, and the human table. Exit
codes are the documented ones: 1 refused by the broker, 2 bad usage, 3 broker unreachable.
Counters are checked after real AMQP traffic (python-qpid-proton)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from proton import Message
from proton.utils import LinkDetached

from amqp_clients import Capability, amqp_broker, connection, flush, numbered, receiver, \
    send_to, take, take_accept, wait_queue
from conftest import artifact, free_ports

CLI_S_MAX = 60.0
# The exit codes the commands document.
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

STAT_COLUMNS = ["NAME", "ADDRESS", "CONSUMER_COUNT", "MESSAGE_COUNT", "MESSAGES_ADDED",
                "DELIVERING_COUNT", "MESSAGES_ACKED", "ROUTING_TYPE"]


def sluice(url: str, group: str, *args: str, output_json: bool = False
           ) -> subprocess.CompletedProcess:
    """`sluice GROUP ARGS --url URL` (and `--output json`)."""
    cmd = [str(artifact("SLUICE_BIN")), group, *args, "--url", url]
    if output_json:
        cmd += ["--output", "json"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_S_MAX)


def ok(broker, group: str, *args: str) -> str:
    """The human output of a command that must succeed."""
    done = sluice(broker.admin_url, group, *args)
    assert done.returncode == 0, f"sluice {group} {' '.join(args)}: {done.stderr}"
    return done.stdout


def ok_json(broker, group: str, *args: str):
    done = sluice(broker.admin_url, group, *args, output_json=True)
    assert done.returncode == 0, f"sluice {group} {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def refused(broker, group: str, *args: str, code: int = EXIT_REFUSED) -> str:
    """The stderr of a command that must exit with `code`."""
    done = sluice(broker.admin_url, group, *args)
    assert done.returncode == code, (
        f"sluice {group} {' '.join(args)}: exit {done.returncode}, not {code}\n"
        f"{done.stdout}{done.stderr}")
    return done.stderr


def table(text: str) -> list[dict]:
    """A human table as rows keyed by its header (columns are 2+ spaces apart; no cell here
    holds two spaces)."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()))) for line in lines[1:]]


def stat_row(broker, queue: str) -> dict:
    """`queue stat --queue QUEUE`, the human table's one row."""
    out = ok(broker, "queue", "stat", "--queue", queue)
    assert out.splitlines()[0].split() == STAT_COLUMNS, out
    rows = table(out)
    assert len(rows) == 1, out
    return rows[0]


def stat_json(broker, queue: str) -> dict:
    got = ok_json(broker, "queue", "stat", "--queue", queue)
    assert isinstance(got, list) and len(got) == 1, got
    return got[0]


def counters(broker, queue: str) -> tuple:
    """(consumers, messages, added, delivering, acknowledged) from `queue stat`, checked the
    same in the JSON and the human table."""
    j = stat_json(broker, queue)
    row = stat_row(broker, queue)
    from_json = (j["consumer_count"], j["message_count"], j["messages_added"],
                 j["delivering_count"], j["messages_acknowledged"])
    from_table = tuple(int(row[c]) for c in STAT_COLUMNS[2:7])
    assert from_json == from_table, (j, row)
    return from_json


# -- addresses --------------------------------------------------------------------------------

def test_addresses_are_created_with_artemis_routing_flags_listed_and_deleted(make_broker):
    b = make_broker()
    created = ok_json(b, "address", "create", "--name", "DavidAddress", "--anycast",
                      "--no-multicast")
    assert created == {"name": "DavidAddress", "routing_types": ["anycast"], "queues": [],
                       "temporary": False}
    both = ok_json(b, "address", "create", "--name", "both", "--anycast", "--multicast")
    assert both["routing_types"] == ["anycast", "multicast"]
    # Artemis's default for an address created with neither flag.
    assert ok_json(b, "address", "create", "--name", "plain")["routing_types"] == ["multicast"]
    assert ok_json(b, "address", "create", "--name", "no-any",
                   "--no-anycast")["routing_types"] == ["multicast"]
    assert "Address one created (anycast)." in ok(b, "address", "create", "--name", "one",
                                                  "--anycast")

    listed = {a["name"]: a for a in ok_json(b, "address", "list")}
    # The built-in dead-letter and expiry addresses are there from the start.
    assert {"DLQ", "ExpiryQueue", "DavidAddress", "both", "plain", "no-any", "one"} \
        <= set(listed)
    assert listed["DLQ"]["queues"] == ["DLQ"]
    rows = {r["NAME"]: r for r in table(ok(b, "address", "list"))}
    assert rows["both"]["ROUTING_TYPES"] == "ANYCAST,MULTICAST"
    assert rows["DavidAddress"]["TEMPORARY"] == "no"

    assert "exists" in refused(b, "address", "create", "--name", "DavidAddress", "--anycast")
    ok_json(b, "queue", "create", "--name", "q", "--address", "DavidAddress", "--anycast")
    assert "has queues (q)" in refused(b, "address", "delete", "--name", "DavidAddress")
    deleted = ok_json(b, "address", "delete", "--name", "DavidAddress", "--force")
    assert deleted == {"deleted": "DavidAddress", "queues": ["q"]}
    assert "Address plain deleted." in ok(b, "address", "delete", "--name", "plain")
    names = {a["name"] for a in ok_json(b, "address", "list")}
    assert not names & {"DavidAddress", "plain"}
    assert "q" not in {q["name"] for q in ok_json(b, "queue", "list")}
    assert "does not exist" in refused(b, "address", "delete", "--name", "plain")


def test_the_dead_letter_address_is_deleted_only_when_forced(make_broker):
    b = make_broker()
    ok_json(b, "queue", "delete", "--name", "DLQ")
    # Its queue gone, it is still where dead letters go.
    assert "receives the dead letters" in refused(b, "address", "delete", "--name", "DLQ")
    assert ok_json(b, "address", "delete", "--name", "DLQ", "--force")["deleted"] == "DLQ"


# -- queues -----------------------------------------------------------------------------------

def test_a_queue_is_created_with_every_artemis_option_and_listed(make_broker):
    b = make_broker()
    created = ok_json(b, "queue", "create", "--name", "gpteQueue", "--address", "DavidAddress",
                      "--anycast", "--durable", "--purge-on-no-consumers",
                      "--auto-create-address", "--exclusive", "--max-consumers", "3",
                      "--filter", "color = 'red'")
    assert (created["name"], created["address"], created["routing"]) == \
        ("gpteQueue", "DavidAddress", "anycast")
    assert created["durable"] and created["purge_on_no_consumers"] and created["exclusive"]
    assert created["max_consumers"] == 3
    assert created["filter"] == {"plugin": "selector", "config": "color = 'red'"}
    assert created["message_count"] == 0
    address = [a for a in ok_json(b, "address", "list") if a["name"] == "DavidAddress"]
    assert address == [{"name": "DavidAddress", "routing_types": ["anycast"],
                        "queues": ["gpteQueue"], "temporary": False}]

    # Defaults: durable, on the address of its name, that address's routing type.
    ok_json(b, "address", "create", "--name", "feed", "--multicast")
    sub = ok_json(b, "queue", "create", "--name", "audit", "--address", "feed")
    assert (sub["routing"], sub["durable"], sub["max_consumers"]) == ("multicast", True, -1)
    out = ok(b, "queue", "create", "--name", "scratch", "--anycast", "--no-durable",
             "--auto-create-address", "--max-consumers", "-1")
    assert "Queue scratch created on address scratch (anycast, not durable)." in out

    listed = {q["name"]: q for q in ok_json(b, "queue", "list")}
    assert {"gpteQueue", "audit", "scratch", "DLQ", "ExpiryQueue"} <= set(listed)
    assert listed["scratch"]["durable"] is False
    rows = {r["NAME"]: r for r in table(ok(b, "queue", "list"))}
    assert rows["gpteQueue"]["ROUTING_TYPE"] == "ANYCAST"
    assert rows["gpteQueue"]["PURGE_ON_NO_CONSUMERS"] == "yes"
    assert rows["audit"]["ROUTING_TYPE"] == "MULTICAST"
    assert rows["scratch"]["DURABLE"] == "no"


def test_queue_commands_refuse_what_cannot_be_done_with_exit_code_1(make_broker):
    b = make_broker()
    assert "does not exist" in refused(b, "queue", "create", "--name", "q", "--address",
                                       "nowhere", "--anycast")
    ok_json(b, "address", "create", "--name", "feed", "--multicast")
    assert "routes multicast only" in refused(b, "queue", "create", "--name", "q",
                                              "--address", "feed", "--anycast")
    ok_json(b, "queue", "create", "--name", "q", "--address", "feed")
    assert "exists" in refused(b, "queue", "create", "--name", "q", "--address", "feed")
    assert "invalid filter" in refused(b, "queue", "create", "--name", "r", "--address",
                                       "feed", "--filter", "color = = 'red'")
    assert "max-consumers" in refused(b, "queue", "create", "--name", "r", "--address", "feed",
                                      "--max-consumers", "-2")

    # A bare name on two addresses: `address::queue` says which.
    ok_json(b, "queue", "create", "--name", "q", "--address", "other", "--anycast",
            "--auto-create-address")
    assert "address::queue" in refused(b, "queue", "stat", "--queue", "q")
    assert stat_json(b, "other::q")["routing"] == "anycast"
    assert stat_json(b, "feed::q")["routing"] == "multicast"
    for command in (["stat", "--queue", "nope"], ["purge", "--name", "nope"],
                    ["delete", "--name", "nope"]):
        assert "does not exist" in refused(b, "queue", *command)


def test_bad_usage_exits_2_and_an_unreachable_broker_exits_3(make_broker):
    b = make_broker()
    usage = [
        ("queue", "create", "--anycast"),  # no --name
        ("queue", "create", "--name", "q", "--anycast", "--multicast"),
        ("queue", "create", "--name", "q", "--durable", "--no-durable"),
        ("queue", "create", "--name", "q", "--max-consumers", "many"),
        ("queue", "stat", "--queue", "a", "--queue-name", "b"),
        ("queue", "frobnicate"),
        ("address", "create", "--name", "a", "--no-anycast", "--no-multicast"),
        ("address", "delete"),  # no --name
    ]
    for args in usage:
        refused(b, *args, code=EXIT_USAGE)
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    for args in (("address", "list"), ("queue", "stat"), ("queue", "purge", "--name", "q")):
        done = sluice(url, *args)
        assert done.returncode == EXIT_UNREACHABLE, done.stderr
        assert "cannot reach" in done.stderr


def test_queue_stat_counts_real_amqp_traffic_and_a_purge_empties_the_queue(make_broker):
    b = amqp_broker(make_broker)
    ok_json(b, "address", "create", "--name", "orders", "--anycast")
    ok_json(b, "queue", "create", "--name", "work", "--address", "orders", "--anycast",
            "--durable")
    assert counters(b, "work") == (0, 0, 0, 0, 0)
    row = stat_row(b, "orders::work")
    assert (row["NAME"], row["ADDRESS"], row["ROUTING_TYPE"]) == ("work", "orders", "ANYCAST")

    send_to(b, "orders", numbered("m", 6))
    assert counters(b, "work") == (0, 6, 6, 0, 0)

    with connection(b) as conn:
        r = receiver(conn, "orders::work")
        held = take(r, 2)
        assert len(held) == 2
        wait_queue(b, "work", pump_while=[conn], consumer_count=1, delivering_count=2)
        assert counters(b, "work") == (1, 6, 6, 2, 0)
        r.accept()
        r.accept()
        flush(conn)
        wait_queue(b, "work", pump_while=[conn], messages_acknowledged=2, delivering_count=0)
        assert counters(b, "work")[1:] == (4, 6, 0, 2)
        r.close()
    wait_queue(b, "work", consumer_count=0)

    # The whole table: the new queue, and the built-in ones; `--queue-name` filters by name.
    rows = {r["NAME"]: r for r in table(ok(b, "queue", "stat"))}
    assert {"work", "DLQ", "ExpiryQueue"} <= set(rows)
    assert rows["work"]["MESSAGE_COUNT"] == "4"
    assert [q["name"] for q in ok_json(b, "queue", "stat", "--queue-name", "or")] == ["work"]
    # Artemis's spelling.
    assert [q["name"] for q in ok_json(b, "queue", "stat", "--queueName", "wor")] == ["work"]

    assert ok_json(b, "queue", "purge", "--name", "work") == {"purged": 4}
    assert counters(b, "work") == (0, 0, 6, 0, 2)
    assert "Queue work purged: 0 messages removed." in ok(b, "queue", "purge", "--name", "work")
    killed = stat_json(b, "work")["messages_killed"]
    assert killed == 4
    # Nothing is left to consume.
    send_to(b, "orders", [Message(body="after")])
    with connection(b) as conn:
        r = receiver(conn, "orders::work", credit=5)
        assert [m.body for m in take_accept(r, 1)] == ["after"]
        flush(conn)


def test_a_queue_with_a_consumer_is_deleted_only_with_remove_consumers(make_broker):
    b = amqp_broker(make_broker)
    ok_json(b, "queue", "create", "--name", "busy", "--anycast", "--auto-create-address")
    send_to(b, "busy", numbered("b", 3))
    with connection(b) as conn:
        r = receiver(conn, "busy", credit=1)
        take(r, 1)
        wait_queue(b, "busy", pump_while=[conn], consumer_count=1)

        err = refused(b, "queue", "delete", "--name", "busy")
        assert "1 consumer" in err and "remove consumers" in err, err
        assert stat_json(b, "busy")["message_count"] == 3

        deleted = ok_json(b, "queue", "delete", "--name", "busy", "--remove-consumers")
        assert deleted == {"deleted": "busy::busy", "consumers_removed": 1,
                           "message_count": 3}
        # The broker detaches the receiver's link: its consumer is no more.
        with pytest.raises(LinkDetached, match="amqp:not-found"):
            r.receive(timeout=CLI_S_MAX)
    assert "busy" not in {q["name"] for q in ok_json(b, "queue", "list")}
    busy = [a for a in ok_json(b, "address", "list") if a["name"] == "busy"]
    assert busy == [{"name": "busy", "routing_types": ["anycast"], "queues": [],
                     "temporary": False}]
    b.assert_healthy()


def test_a_durable_queue_created_by_command_survives_a_restart(make_broker):
    b = amqp_broker(make_broker)
    ok_json(b, "address", "create", "--name", "keep", "--anycast")
    ok_json(b, "queue", "create", "--name", "lasting", "--address", "keep", "--durable",
            "--max-consumers", "5")
    ok_json(b, "queue", "create", "--name", "fleeting", "--address", "keep", "--no-durable")
    send_to(b, "keep::lasting", numbered("d", 4))
    send_to(b, "keep::fleeting", numbered("f", 2))

    b.restart()
    names = {q["name"] for q in ok_json(b, "queue", "list")}
    assert "lasting" in names and "fleeting" not in names
    lasting = stat_json(b, "keep::lasting")
    assert (lasting["durable"], lasting["max_consumers"], lasting["message_count"]) == \
        (True, 5, 4)
    keep = [a for a in ok_json(b, "address", "list") if a["name"] == "keep"]
    assert keep == [{"name": "keep", "routing_types": ["anycast"], "queues": ["lasting"],
                     "temporary": False}]
    with connection(b) as conn:
        r = receiver(conn, "keep::lasting", credit=4)
        assert [m.body for m in take_accept(r, 4)] == [f"d-{i}" for i in range(4)]
        flush(conn)

    # A deleted queue stays deleted.
    ok_json(b, "queue", "delete", "--name", "lasting")
    b.restart()
    assert "lasting" not in {q["name"] for q in ok_json(b, "queue", "list")}


def test_temporary_queues_are_shown_only_when_asked(make_broker):
    b = amqp_broker(make_broker)
    ok_json(b, "address", "create", "--name", "ticks", "--multicast")
    with connection(b) as conn:
        # A multicast receiver naming no subscription gets a temporary queue of its own.
        receiver(conn, "ticks", options=Capability("topic"))
        temporary = [q for q in ok_json(b, "queue", "stat", "--include-temporary")
                     if q["address"] == "ticks"]
        assert len(temporary) == 1 and temporary[0]["temporary"], temporary
        name = temporary[0]["name"]
        assert name not in {q["name"] for q in ok_json(b, "queue", "stat")}
        assert name not in {q["name"] for q in ok_json(b, "queue", "list")}
        assert name in {q["name"] for q in ok_json(b, "queue", "list", "--include-temporary")}
        assert name in {r["NAME"] for r in table(ok(b, "queue", "stat", "--include-temporary"))}
        assert stat_json(b, f"ticks::{name}")["temporary"] is True
