"""Loading, swapping and unloading plugins while the broker runs (issue 7), with the `sluice
plugin` command (a client of the admin API's `POST`, `PUT` and `DELETE /api/plugins`).

Routers and filters are loaded under a name that address settings use; a codec is loaded on a
listener of its own. A component of the wrong world is refused with what was expected."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from amqp_clients import amqp_broker, bodies, connection, declared, queue, receiver, send_to, \
    take_accept
from clients import Record, consume_all, produce_all
from conftest import REPO_ROOT, artifact, free_ports, unique
from policy_helpers import plugin, plugin_status, plugins, settings, with_props

CLI_S_MAX = 300.0
# The exit codes `sluice plugin` documents.
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def sluice(broker, *args: str, output_json: bool = False) -> subprocess.CompletedProcess:
    """`sluice plugin ARGS` against `broker`'s admin API."""
    cmd = [str(artifact("SLUICE_BIN")), "plugin", "--url", broker.admin_url]
    if output_json:
        cmd += ["--output", "json"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=CLI_S_MAX)


def ok_json(broker, *args: str):
    done = sluice(broker, *args, output_json=True)
    assert done.returncode == 0, f"sluice plugin {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def test_a_filter_loaded_by_command_releases_what_was_held_and_filters_from_then_on(make_broker):
    address = "late.orders"
    b = amqp_broker(make_broker, extra=declared(address, "anycast")
                    + settings("late.#", publish_filter={"plugin": "late-match",
                                                         "config": "region=eu"}))
    # Settings naming a filter that is not loaded hold what they would judge: nothing is
    # stored unfiltered, and the sender waits unsettled.
    mark = b.log_mark()
    early = Sender(b, address, [with_props("early", region="eu"), with_props("no", region="us")])
    b.wait_for_log("holding 1 messages for late.orders", since=mark)
    assert queue(b, address)["messages_added"] == 0

    loaded = ok_json(b, "load", "--kind", "filter", "--name", "late-match",
                     "--source", str(artifact("SLUICE_FILTER_SWAP_A")))
    assert loaded["kind"] == "filter" and loaded["name"] == "late-match"
    assert loaded["source"] == str(artifact("SLUICE_FILTER_SWAP_A"))
    assert plugin_status(b, "filter", "late-match")["sha256"] == loaded["sha256"]
    early.join()

    send_to(b, address, [with_props(f"m{i}", region="eu" if i % 2 == 0 else "us")
                         for i in range(6)])
    assert queue(b, address)["messages_added"] == 4
    with connection(b) as conn:
        r = receiver(conn, address, credit=10)
        assert bodies(take_accept(r, 4)) == ["early", "m0", "m2", "m4"]

    human = sluice(b, "list")
    assert human.returncode == 0, human.stderr
    row = [line for line in human.stdout.splitlines() if " late-match " in f" {line} "]
    assert len(row) == 1 and row[0].startswith("filter"), human.stdout


class Sender:
    """`send_to` on a thread, for a send that is held until the test does something."""

    def __init__(self, broker, address: str, messages: list) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run, args=(broker, address, messages),
                                       daemon=True)
        self.thread.start()

    def run(self, broker, address: str, messages: list) -> None:
        try:
            send_to(broker, address, messages)
        except BaseException as e:  # noqa: BLE001 - reported by join()
            self.error = e

    def join(self, timeout_s: float = 60.0) -> None:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the held send never completed"
        if self.error is not None:
            raise self.error


def test_a_swap_by_command_changes_the_version_and_an_unload_in_use_is_refused(make_broker):
    b = amqp_broker(make_broker, extra=plugin("redactor", "filter",
                                              artifact("SLUICE_FILTER_SWAP_A"))
                    + settings("pii.#", publish_filter={"plugin": "redactor",
                                                        "config": "keep"}))
    before = plugin_status(b, "filter", "redactor")
    swapped = ok_json(b, "swap", "filter", "redactor",
                      "--source", str(artifact("SLUICE_FILTER_SWAP_B")))
    assert swapped["swapped"] is True
    assert swapped["plugin"]["sha256"] != before["sha256"]
    assert swapped["plugin"]["source"] == str(artifact("SLUICE_FILTER_SWAP_B"))
    assert plugin_status(b, "filter", "redactor")["version"] == swapped["plugin"]["version"]

    again = ok_json(b, "swap", "filter", "redactor")
    assert again["swapped"] is False, "the same file again swaps nothing"

    refused = sluice(b, "unload", "filter", "redactor")
    assert refused.returncode == EXIT_REFUSED
    assert "in use by address-settings `pii.#` publish-filter" in refused.stderr, refused.stderr
    assert plugin_status(b, "filter", "redactor")["sha256"] == swapped["plugin"]["sha256"]

    taken = sluice(b, "load", "--kind", "filter", "--name", "redactor",
                   "--source", str(artifact("SLUICE_FILTER_SWAP_A")))
    assert taken.returncode == EXIT_REFUSED and "already loaded" in taken.stderr, taken.stderr


def test_unloading_a_file_that_replaced_a_builtin_brings_the_builtin_back(make_broker):
    b = amqp_broker(make_broker)
    builtin = plugin_status(b, "filter", "match")
    assert builtin["source"] == "builtin:filter-match"
    refused = sluice(b, "unload", "filter", "match")
    assert refused.returncode == EXIT_REFUSED and "built in" in refused.stderr, refused.stderr

    ok_json(b, "swap", "filter", "match", "--source", str(artifact("SLUICE_FILTER_SWAP_B")))
    assert plugin_status(b, "filter", "match")["source"] == str(artifact("SLUICE_FILTER_SWAP_B"))
    unloaded = ok_json(b, "unload", "filter", "match")
    assert unloaded["restored"]["source"] == "builtin:filter-match"
    assert plugin_status(b, "filter", "match")["sha256"] == builtin["sha256"]


def test_a_plugin_of_the_wrong_kind_is_refused_with_what_was_expected(make_broker):
    b = amqp_broker(make_broker)
    as_filter = sluice(b, "load", "--kind", "filter", "--name", "confused",
                       "--source", str(artifact("SLUICE_ROUTER_SWAP_A")))
    assert as_filter.returncode == EXIT_REFUSED
    assert "does not implement sluice:plugin/filter@0.5.0" in as_filter.stderr, as_filter.stderr
    assert "it is a router" in as_filter.stderr, as_filter.stderr
    assert "sluice:plugin/filtering@0.5.0" in as_filter.stderr, as_filter.stderr
    assert "HTTP 422" in as_filter.stderr

    [port] = free_ports(1)
    as_codec = sluice(b, "load", "--kind", "codec", "--name", "confused",
                      "--source", str(artifact("SLUICE_FILTER_SWAP_A")),
                      "--address", f"127.0.0.1:{port}")
    assert as_codec.returncode == EXIT_REFUSED
    assert "it is a filter" in as_codec.stderr, as_codec.stderr
    assert "sluice:plugin/protocol@0.5.0" in as_codec.stderr, as_codec.stderr
    assert not [p for p in plugins(b) if p["name"] == "confused"]

    old = sluice(b, "load", "--kind", "filter", "--name", "old",
                 "--source", str(artifact("SLUICE_GUEST_FILTER_OLD_WIT")))
    assert old.returncode == EXIT_REFUSED
    assert "built for sluice:plugin@0.4.0" in old.stderr, old.stderr
    assert "this broker speaks sluice:plugin@0.5.0" in old.stderr, old.stderr

    missing = sluice(b, "load", "--kind", "router", "--name", "ghost",
                     "--source", "/nonexistent/ghost.wasm")
    assert missing.returncode == EXIT_REFUSED and "/nonexistent/ghost.wasm" in missing.stderr

    bad_kind = sluice(b, "load", "--kind", "gizmo", "--name", "x", "--source", "/x.wasm")
    assert bad_kind.returncode == EXIT_USAGE

    [closed] = free_ports(1)
    unreachable = subprocess.run([str(artifact("SLUICE_BIN")), "plugin", "--url",
                                  f"http://127.0.0.1:{closed}", "list"],
                                 capture_output=True, text=True, timeout=CLI_S_MAX)
    assert unreachable.returncode == EXIT_UNREACHABLE, unreachable.stderr
    assert "cannot reach" in unreachable.stderr


def test_a_codec_loaded_by_command_serves_its_own_listener_until_unloaded(make_broker):
    b = make_broker()
    [port] = free_ports(1)
    topic = unique("runtime-codec")
    loaded = ok_json(b, "load", "--kind", "codec", "--name", "kafka-extra",
                     "--source", str(artifact("SLUICE_CODEC_SWAP_A")),
                     "--address", f"127.0.0.1:{port}")
    assert loaded["address"] == f"127.0.0.1:{port}"
    extra = f"127.0.0.1:{port}"
    produce_all(extra, topic, [Record(key=b"k", value=b"over the new listener")])
    assert [r.record.value for r in consume_all(b.bootstrap, topic, 1)] == [b"over the new listener"]

    swapped = ok_json(b, "swap", "codec", "kafka-extra",
                      "--source", str(artifact("SLUICE_CODEC_SWAP_B")))
    assert swapped["swapped"] is True and swapped["plugin"]["address"] == extra
    produce_all(extra, topic, [Record(key=b"k", value=b"after the swap")])

    busy = sluice(b, "load", "--kind", "codec", "--name", "kafka-twin",
                  "--source", "builtin:codec-kafka", "--address", extra)
    assert busy.returncode == EXIT_REFUSED and "cannot listen" in busy.stderr, busy.stderr

    ok_json(b, "unload", "codec", "kafka-extra")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert not [p for p in plugins(b) if p["name"] == "kafka-extra"]
    assert [r.record.value for r in consume_all(b.bootstrap, topic, 1)] == \
        [b"over the new listener", b"after the swap"]
    b.assert_healthy()


def example(language: str, name: str) -> Path:
    """A built example plugin (examples/<language>/build.sh); fails when it was not built."""
    root = Path(os.environ.get("SLUICE_EXAMPLES_DIR") or REPO_ROOT / "target" / "examples")
    path = root / language / f"{name}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} does not exist; build it with `bash examples/{language}/build.sh`",
                    pytrace=False)
    return path


def lines(sock: socket.socket, n: int, timeout_s: float = 30.0) -> list[str]:
    """The next `n` lines the text codec writes."""
    sock.settimeout(timeout_s)
    data = b""
    while data.count(b"\r\n") < n:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data.decode().split("\r\n")[:n]


def test_a_custom_text_protocol_loaded_by_command_publishes_what_kafka_clients_read(make_broker):
    b = make_broker()
    topic = unique("text")
    [port] = free_ports(1)
    loaded = ok_json(b, "load", "--kind", "codec", "--name", "text",
                     "--source", str(example("rust", "text-codec")),
                     "--address", f"127.0.0.1:{port}")
    assert loaded["address"] == f"127.0.0.1:{port}" and loaded["plugin"] == "text-codec"

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"PUB {topic} hello from nc\nPUB {topic} second line\r\nPING done\n".encode())
        assert lines(sock, 3) == ["OK", "OK", "PONG done"]
    stored = consume_all(b.bootstrap, topic, 1)
    assert [s.record.value for s in stored] == [b"hello from nc", b"second line"]

    ok_json(b, "unload", "codec", "text")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    b.assert_healthy()
