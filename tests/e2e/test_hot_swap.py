"""Hot swap: while a producer sends continuously, a new build of the Kafka codec replaces the
old one; every message is acknowledged and readable, the client sees no connection error, and
connections opened after the swap run the new version (issue 2, "Must show").

Two builds of the same codec, told apart by SLUICE_BUILD_TAG (swap-a, swap-b): the version they
report is `0.1.0+swap-a` / `0.1.0+swap-b`. The listener's codec is a file path; the test
replaces the file atomically (write beside it, rename over it) and sends SIGHUP.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import threading
import time

import pytest

import kafka_wire
from clients import ClientErrors, consume_all, create_topic, producer
from conftest import artifact

MESSAGES = 25_000
# Paced so the producer runs for about five seconds, with the swap in the middle.
MESSAGES_PER_S = 5_000
PARTITIONS = 2


def sha12(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class ContinuousProducer:
    """Produces MESSAGES messages at a steady rate in a background thread, acks=all, with a
    delivery callback per message and every client error and warning collected."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.errors = ClientErrors()
        self.p = producer(bootstrap, self.errors,
                          **{"client.id": "hot-swap-producer"})
        self.values = [f"swap-{i:06d}-{'x' * (i % 50)}".encode() for i in range(MESSAGES)]
        self.delivered: dict[int, tuple[int, int]] = {}  # index -> (partition, offset)
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self.run, name="hot-swap-producer", daemon=True)

    def run(self) -> None:
        t0 = time.monotonic()
        for i, v in enumerate(self.values):
            def cb(err, msg, i=i):
                if err is not None:
                    self.failures.append(f"{i}: {err}")
                else:
                    self.delivered[i] = (msg.partition(), msg.offset())
            while True:
                try:
                    self.p.produce(self.topic, key=f"k{i}".encode(), value=v, on_delivery=cb)
                    break
                except BufferError:
                    self.p.poll(0.01)
            ahead = t0 + (i + 1) / MESSAGES_PER_S - time.monotonic()
            self.p.poll(ahead if ahead > 0 else 0)
        self.p.flush(60)


@pytest.mark.timeout(180)
def test_codec_swapped_under_load_without_dropping_a_message_or_connection(make_broker, tmp_path):
    swap_a, swap_b = artifact("SLUICE_CODEC_SWAP_A"), artifact("SLUICE_CODEC_SWAP_B")
    assert swap_a.read_bytes() != swap_b.read_bytes(), "swap-a and swap-b builds are identical"
    live_codec = tmp_path / "codec-kafka.wasm"
    shutil.copyfile(swap_a, live_codec)

    broker = make_broker(listeners={"kafka": {"codec": str(live_codec)}})
    topic = "hot-swap"
    create_topic(broker.bootstrap, topic, PARTITIONS)

    # A connection opened before the swap, idle during it, used again after it.
    old_conn = kafka_wire.connect(broker.port())
    kafka_wire.api_versions_round_trip(old_conn, 1)

    prod = ContinuousProducer(broker.bootstrap, topic)
    prod.thread.start()
    deadline = time.monotonic() + 30
    while len(prod.delivered) < MESSAGES // 3:
        assert time.monotonic() < deadline and prod.thread.is_alive(), (
            f"only {len(prod.delivered)} messages delivered before the swap")
        time.sleep(0.01)

    # A SIGHUP with the file unchanged swaps nothing.
    broker.send_signal(signal.SIGHUP)

    # Replace the file atomically, as a deployment would, and tell the broker.
    staged = tmp_path / "codec-kafka.wasm.new"
    shutil.copyfile(swap_b, staged)
    os.replace(staged, live_codec)
    swap_mark = broker.log_mark()
    broker.send_signal(signal.SIGHUP)
    swapped = broker.wait_for_log(r"codec swapped.*", since=swap_mark, timeout_s=30)[0].group(0)
    delivered_at_swap = len(prod.delivered)
    assert re.search(r"listener=kafka\b", swapped), swapped
    assert f"sha256={sha12(swap_b)}" in swapped, (
        f"swap line does not name swap-b's hash {sha12(swap_b)}: {swapped}")
    after_swap = broker.log_mark()

    # New connections, opened while the producer is still sending: the new build serves them.
    for c in range(3):
        with kafka_wire.connect(broker.port()) as s:
            kafka_wire.api_versions_round_trip(s, 10 + c)
    # The connection opened before the swap still works.
    kafka_wire.api_versions_round_trip(old_conn, 2)

    prod.thread.join(120)
    assert not prod.thread.is_alive(), "producer did not finish"
    old_conn.close()

    assert delivered_at_swap < MESSAGES, "the producer was done before the swap happened"
    assert not prod.failures, f"{len(prod.failures)} delivery errors: {prod.failures[:5]}"
    assert not prod.errors.errors, f"client errors (e.g. a dropped connection): " \
                                   f"{prod.errors.errors[:5]}"
    assert not prod.errors.logs, f"client warnings: {prod.errors.logs[:5]}"
    assert len(prod.delivered) == MESSAGES, f"{MESSAGES - len(prod.delivered)} unacknowledged"

    got = {(s.partition, s.offset): s.record.value
           for s in consume_all(broker.bootstrap, topic, PARTITIONS)}
    assert len(got) == MESSAGES, f"read {len(got)} messages, {MESSAGES} acknowledged"
    for i, pos in prod.delivered.items():
        assert got.get(pos) == prod.values[i], f"message {i} at {pos} is not what was sent"

    log = broker.log_text()
    assert len(re.findall(r"codec swapped", log)) == 1, "expected exactly one swap (one SIGHUP " \
                                                        "had an unchanged file)"
    opened_before = [l for l in log[:swap_mark].splitlines() if "connection opened" in l]
    opened_after = broker.log_lines("connection opened", since=after_swap)
    assert opened_before and all("plugin_version=0.1.0+swap-a" in l and
                                 f"sha256={sha12(swap_a)}" in l for l in opened_before), (
        f"connections before the swap should run swap-a: {opened_before[:3]}")
    assert len(opened_after) >= 3, f"new connections not logged: {opened_after}"
    assert all("plugin_version=0.1.0+swap-b" in l and f"sha256={sha12(swap_b)}" in l
               for l in opened_after), (
        f"connections after the swap should run swap-b: {opened_after[:3]}")
    broker.assert_healthy()
