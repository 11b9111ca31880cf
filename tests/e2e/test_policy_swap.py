"""Hot swap of routers and filters under continuous load (issue 6): while an AMQP producer
sends without pause, the file of a router (or filter) is replaced by another build and the
broker gets SIGHUP. Counts prove nothing lost or duplicated and per-partition order kept; the
admin API shows the new version serving. (Codecs: test_hot_swap.py.)

Two builds of one plugin, told apart by SLUICE_BUILD_TAG: versions `0.1.0+swap-a` and
`0.1.0+swap-b`. The file is replaced atomically (written beside it, renamed over it).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

from proton import Delivery, Message

from amqp_clients import (CLIENT_S_MAX, amqp_broker, bodies, connection, declared, link_name,
                          receiver, take_accept, wait_queue)
from clients import consume_all, create_topic
from conftest import artifact
from policy_helpers import keyed, plugin, plugin_status, settings, wait_plugin, with_props

MESSAGES = 3000
KEYS = 12
PARTITIONS = 4


def replace_file(path, source) -> None:
    staged = path.with_suffix(".staged")
    shutil.copyfile(source, staged)
    os.replace(staged, path)


class SteadySender(threading.Thread):
    """Sends `messages` to `address` on one link, unsettled, each waited for: every message
    acknowledged is stored (a held one is retried by the broker until stored)."""

    def __init__(self, broker, address: str, messages: list[Message]) -> None:
        super().__init__(daemon=True, name=f"sender-{address}")
        self.broker, self.address, self.messages = broker, address, messages
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection(self.broker) as conn:
                sender = conn.create_sender(self.address, name=link_name(self.address))
                for i, m in enumerate(self.messages):
                    d = sender.send(m, timeout=CLIENT_S_MAX)
                    assert d.remote_state == Delivery.ACCEPTED, f"message {i}: {d.remote_state}"
                    self.sent = i + 1
        except BaseException as e:  # noqa: BLE001 - reported by finish()
            self.error = e

    def finish(self) -> None:
        self.join(120)
        assert not self.is_alive(), f"sender stuck at {self.sent}"
        if self.error:
            raise self.error


def swap_midway(broker, sender: SteadySender, path, new_build, kind: str, name: str) -> None:
    while sender.sent < MESSAGES // 3 and sender.is_alive():
        time.sleep(0.01)
    replace_file(path, new_build)
    broker.send_signal(signal.SIGHUP)
    wait_plugin(broker, kind, name, version="0.1.0+swap-b")
    assert sender.is_alive() and sender.sent < MESSAGES, "the swap happened under load"


def test_a_router_swapped_under_load_loses_duplicates_and_reorders_nothing(make_broker, tmp_path):
    path = tmp_path / "router.wasm"
    shutil.copyfile(artifact("SLUICE_ROUTER_SWAP_A"), path)
    b = amqp_broker(make_broker, extra=plugin("swap-router", "router", path)
                    + settings("swapr.#", router="swap-router"))
    topic = "swapr.events"
    create_topic(b.bootstrap, topic, PARTITIONS)
    assert plugin_status(b, "router", "swap-router")["version"] == "0.1.0+swap-a"
    messages = [keyed(f"{i % KEYS}:{i}", f"key-{i % KEYS}") for i in range(MESSAGES)]
    sender = SteadySender(b, f"topic://{topic}", messages)
    sender.start()
    swap_midway(b, sender, path, artifact("SLUICE_ROUTER_SWAP_B"), "router", "swap-router")
    sender.finish()
    stored = consume_all(b.bootstrap, topic, PARTITIONS)
    values = [s.record.value.decode() for s in stored]
    assert len(values) == MESSAGES and len(set(values)) == MESSAGES, (
        f"{len(values)} stored, {len(set(values))} distinct, of {MESSAGES}")
    partition_of: dict[bytes, int] = {}
    last_seq: dict[bytes, int] = {}
    for s in stored:
        key = s.record.key
        assert partition_of.setdefault(key, s.partition) == s.partition, (
            f"{key!r} moved partitions across the swap")
        seq = int(s.record.value.decode().split(":")[1])
        assert seq > last_seq.get(key, -1), f"{key!r} out of order in its partition"
        last_seq[key] = seq
    status = plugin_status(b, "router", "swap-router")
    assert status["healthy"] and status["stats"]["messages_in"] > 0


def test_a_filter_swapped_under_load_loses_duplicates_and_reorders_nothing(make_broker, tmp_path):
    path = tmp_path / "filter.wasm"
    shutil.copyfile(artifact("SLUICE_FILTER_SWAP_A"), path)
    address = "swapf.orders"
    b = amqp_broker(make_broker, extra=plugin("swap-filter", "filter", path)
                    + declared(address, "anycast")
                    + settings("swapf.#", publish_filter={"plugin": "swap-filter",
                                                          "config": "keep=yes"}))
    messages = [with_props(f"m{i}", keep="yes" if i % 2 == 0 else "no") for i in range(MESSAGES)]
    sender = SteadySender(b, address, messages)
    sender.start()
    swap_midway(b, sender, path, artifact("SLUICE_FILTER_SWAP_B"), "filter", "swap-filter")
    sender.finish()
    kept = MESSAGES // 2
    wait_queue(b, address, messages_added=kept)
    with connection(b) as conn:
        r = receiver(conn, address, credit=500)
        got = bodies(take_accept(r, kept))
    assert got == [f"m{i}" for i in range(0, MESSAGES, 2)]
    wait_queue(b, address, message_count=0)
