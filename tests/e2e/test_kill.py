"""SIGKILL at random moments while a Kafka client produces with acks=all: after every restart,
every record acknowledged so far is readable at exactly its acknowledged (partition, offset),
with identical key, value and headers.

A SIGKILL leaves the page cache intact, so this cannot tell an acknowledgement given before the
fsync from one given after it; what it proves is that recovery (torn tails, half-rolled
segments, indexes rebuilt) never loses or alters an acknowledged record.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from dataclasses import dataclass

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from clients import ClientErrors, consumer, create_topic, producer

# Kill/restart cycles; each lands at a random moment of producing.
KILLS = 20
PARTITIONS = 3
# Small segments so that, at the producing rate below, every partition rolls a segment every
# few hundred milliseconds and kills also land during rolls.
SEGMENT_BYTES = 256 << 10
# How long the producer runs before each kill, drawn uniformly: short enough for 20 cycles to
# fit the time budget, long enough to span several batches, acks and rolls.
PRODUCE_S_MIN, PRODUCE_S_MAX = 0.3, 2.0
# Records the producer hands to librdkafka per second. Each verification re-reads every
# partition from the beginning, so this bounds the data (and the time) the test re-reads:
# about 3,000/s of ~600 B is ~2 MB/s, 60-70 MB over the whole test.
RECORDS_PER_S = 3000
VALUE_BYTES_MAX = 1200
# A delivery that cannot complete in this time is reported as failed (not acknowledged): a
# restart takes well under a second, so only a hung broker would reach it.
MESSAGE_TIMEOUT_MS = 30_000
# How long a verification may read before it calls the records it has not seen missing, and
# how long the producer may take to get an acknowledgement after a restart.
VERIFY_S_MAX = 60.0
PROGRESS_S_MAX = 30.0
# Failures listed in an assertion message; the counts are always complete.
FAILURES_SHOWN = 5


@dataclass(frozen=True)
class Acked:
    """A record and where its delivery report put it."""
    seq: int
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes | None], ...]


class Producing:
    """Produces records with unique keys, random binary values and some headers from a
    background thread, at a bounded rate, until stopped; keeps every acknowledged record.
    `pause` holds new records back (the client keeps serving the ones it has), so that a
    verification reads a log that is not growing."""

    def __init__(self, bootstrap: str, topic: str, rng: random.Random) -> None:
        self.topic = topic
        self.rng = rng
        self.errors = ClientErrors()
        self.acked: list[Acked] = []
        self.failed: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kill-producer", daemon=True)
        self._producer = producer(bootstrap, self.errors, **{
            "linger.ms": 5,
            "retries": 1_000_000,
            "message.timeout.ms": MESSAGE_TIMEOUT_MS,
            # librdkafka backs off exponentially up to 10 s between reconnects by default;
            # the broker is back in well under a second, so retry every half second at most.
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
        })

    def start(self) -> "Producing":
        self._thread.start()
        return self

    def pause(self, drain_s: float) -> None:
        """Stops handing new records to the client and waits until it holds none."""
        self._paused.set()
        deadline = time.monotonic() + drain_s
        while len(self._producer) > 0:
            assert time.monotonic() < deadline, (
                f"{len(self._producer)} records still without a delivery report after "
                f"{drain_s}s; producer errors: {self.errors.errors[-3:]}")
            time.sleep(0.01)

    def resume(self) -> None:
        self._paused.clear()

    def acked_snapshot(self) -> list[Acked]:
        with self._lock:
            return list(self.acked)

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def _record(self, seq: int) -> tuple[bytes, bytes, tuple]:
        key = b"kill-%08d" % seq
        value = self.rng.randbytes(self.rng.randint(0, VALUE_BYTES_MAX))
        headers = ()
        if seq % 3 == 0:
            headers = (("seq", str(seq).encode()), ("bin", self.rng.randbytes(8)),
                       ("null", None))
        return key, value, headers

    def _run(self) -> None:
        seq = 0
        tick_s = 0.01
        per_tick = max(1, int(RECORDS_PER_S * tick_s))
        while not self._stop.is_set():
            t0 = time.monotonic()
            for _ in range(0 if self._paused.is_set() else per_tick):
                key, value, headers = self._record(seq)

                def cb(err, msg, seq=seq, key=key, value=value, headers=headers):
                    if err is not None:
                        with self._lock:
                            self.failed.append(f"record {seq}: {err}")
                        return
                    with self._lock:
                        self.acked.append(Acked(seq, msg.partition(), msg.offset(), key,
                                                value, headers))

                while not self._stop.is_set():
                    try:
                        self._producer.produce(self.topic, key=key, value=value,
                                               headers=list(headers), on_delivery=cb)
                        break
                    except BufferError:  # the broker is down and the queue is full
                        self._producer.poll(0.05)
                seq += 1
            # poll() returns early when it serves a delivery report: poll until the tick ends.
            while (left_s := t0 + tick_s - time.monotonic()) > 0:
                self._producer.poll(left_s)

    def stop(self, flush_s: float) -> int:
        """Stops producing and waits for the reports still due; returns how many are left."""
        self._stop.set()
        self._thread.join(10)
        return self._producer.flush(flush_s)


def read_until(bootstrap: str, topic: str, ends: dict[int, int]
               ) -> dict[tuple[int, int], tuple[bytes, bytes, tuple]]:
    """Reads each partition from the beginning (assign, no group) until it has seen offset
    `ends[p]`, or until VERIFY_S_MAX; returns (key, value, headers) by (partition, offset).
    A partition that ends early is read again until the deadline, in case the acknowledgement
    of its last records raced ahead of the read."""
    errors = ClientErrors()
    c = consumer(bootstrap, errors, **{"fetch.wait.max.ms": 50})
    got: dict[tuple[int, int], tuple[bytes, bytes, tuple]] = {}
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        seen = {p: -1 for p in range(PARTITIONS)}
        deadline = time.monotonic() + VERIFY_S_MAX
        while any(seen[p] < ends.get(p, -1) for p in range(PARTITIONS)):
            if time.monotonic() > deadline:
                break
            for msg in c.consume(num_messages=10_000, timeout=0.2):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consumer error: {msg.error()}")
                headers = tuple((k, v) for k, v in (msg.headers() or []))
                got[(msg.partition(), msg.offset())] = (msg.key(), msg.value(), headers)
                seen[msg.partition()] = max(seen[msg.partition()], msg.offset())
        return got
    finally:
        c.close()


def describe(key, value, headers) -> str:
    v = "None" if value is None else f"{len(value)} B {value[:16].hex()}..."
    return f"key={key!r} value={v} headers={headers!r}"


def first_difference(a: bytes, b: bytes | None) -> int:
    b = b or b""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def explain(a: Acked, got: dict, at_key: dict) -> str:
    """Where an acknowledged record should be and what is there instead."""
    found = got.get((a.partition, a.offset))
    if found is None:
        last = max((o for (p, o) in got if p == a.partition), default=-1)
        instead = f"nothing (partition {a.partition} read up to offset {last})"
    else:
        instead = describe(*found)
        if found[1] != a.value:
            instead += f"; values differ from byte {first_difference(a.value, found[1])}"
    return (f"record {a.seq} acknowledged at partition {a.partition} offset {a.offset}\n"
            f"    expected {describe(a.key, a.value, a.headers)}\n"
            f"    found    {instead}\n"
            f"    its key is at {at_key.get(a.key) or 'no offset'}")


def verify(bootstrap: str, topic: str, acked: list[Acked], context: str) -> int:
    """Checks every acknowledged record against what the broker returns now; returns how many
    extra copies (client retries, allowed at other offsets) the read held."""
    ends: dict[int, int] = {}
    for a in acked:
        ends[a.partition] = max(ends.get(a.partition, -1), a.offset)
    got = read_until(bootstrap, topic, ends)

    bad = [a for a in acked if got.get((a.partition, a.offset)) != (a.key, a.value, a.headers)]
    if bad:
        at_key: dict[bytes, list[tuple[int, int]]] = {}
        for pos, rec in got.items():
            at_key.setdefault(rec[0], []).append(pos)
        raise AssertionError(
            f"{context}: {len(bad)} of {len(acked)} acknowledged records missing or different; "
            f"the first {min(len(bad), FAILURES_SHOWN)}:\n"
            + "\n".join(explain(a, got, at_key) for a in bad[:FAILURES_SHOWN]))

    # Offsets are dense: a recovery that cut a batch out of the middle would leave a hole.
    for p in range(PARTITIONS):
        offsets = sorted(o for (pp, o) in got if pp == p)
        hole = next((i for i, o in enumerate(offsets) if o != i), None)
        assert hole is None, (
            f"{context}: partition {p} has no offset {hole} but has offsets after it "
            f"(read {len(offsets)}, last {offsets[-1]})")

    acked_keys = {a.key for a in acked}
    return sum(1 for rec in got.values() if rec[0] in acked_keys) - len(acked)


def wait_for_progress(producing: Producing, since: int, context: str) -> None:
    deadline = time.monotonic() + PROGRESS_S_MAX
    while producing.acked_count() <= since:
        assert time.monotonic() < deadline, (
            f"{context}: no record acknowledged within {PROGRESS_S_MAX}s of the restart; "
            f"producer errors: {producing.errors.errors[-3:]}, delivery failures: "
            f"{producing.failed[-3:]}")
        time.sleep(0.02)


def check_restart_log(broker, mark: int, context: str) -> list[str]:
    """The run started at `mark` opened storage (recovery finished), logged no error and no
    panic; returns its recovery warnings (torn tails truncated, indexes rebuilt)."""
    log = broker.log_since(mark)
    assert "panicked" not in log, f"{context}: the broker panicked\n{broker.log_tail()}"
    assert re.search(r"storage open", log), (
        f"{context}: no `storage open` line, recovery did not finish\n{broker.log_tail()}")
    errors = [line for line in log.splitlines() if re.search(r"\bERROR\b", line)]
    assert not errors, f"{context}: the broker logged errors:\n" + "\n".join(errors[:5])
    return [line for line in log.splitlines() if re.search(r"\bWARN\b", line)]


@pytest.mark.timeout(300)
def test_acknowledged_records_survive_sigkill_at_random_moments(make_broker):
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"\nkill test seed {seed}")
    rng = random.Random(seed)
    broker = make_broker(topics={"durability": "fsync", "segment-bytes": SEGMENT_BYTES})
    topic = "kill"
    create_topic(broker.bootstrap, topic, PARTITIONS)

    started = time.monotonic()
    producing = Producing(broker.bootstrap, topic, rng).start()
    recovery_warnings: list[str] = []
    duplicates = 0
    restart_s = verify_s = 0.0
    try:
        for kill in range(1, KILLS + 1):
            context = f"after kill {kill} of {KILLS}"
            producing.resume()
            time.sleep(rng.uniform(PRODUCE_S_MIN, PRODUCE_S_MAX))
            broker.kill()
            acked_at_kill = producing.acked_count()
            t0 = time.monotonic()
            mark = broker.log_mark()
            broker.start()
            restart_s += time.monotonic() - t0
            recovery_warnings += check_restart_log(broker, mark, context)
            # Records produced while the broker was down, and those in flight at the kill,
            # are delivered by the same client once it has reconnected.
            wait_for_progress(producing, acked_at_kill, context)
            producing.pause(drain_s=MESSAGE_TIMEOUT_MS / 1000 + 5)
            t0 = time.monotonic()
            duplicates = verify(broker.bootstrap, topic, producing.acked_snapshot(), context)
            verify_s += time.monotonic() - t0
            broker.assert_healthy(since=mark)
    finally:
        producing.stop(flush_s=0)

    acked = producing.acked_snapshot()
    segments = sum(1 for _ in (broker.data_dir / "topics").rglob("*.log"))
    print(f"kill test: {KILLS} kills in {time.monotonic() - started:.1f}s (restarts "
          f"{restart_s:.1f}s, verifications {verify_s:.1f}s), {len(acked)} records "
          f"acknowledged ({sum(len(a.value) for a in acked) / 1e6:.1f} MB) and all verified "
          f"after each restart, {len(producing.failed)} deliveries failed, {duplicates} "
          f"duplicates from retries, {segments} segment files, {len(recovery_warnings)} "
          f"recovery warnings")
    for line in recovery_warnings[:10]:
        print(f"  {line}")
