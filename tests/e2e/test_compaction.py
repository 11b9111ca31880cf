"""Log compaction (cleanup.policy=compact) seen by a real client: after compaction, reading a
topic from the beginning yields the latest value of every key, each at the offset it was
written at; keys whose latest record is a tombstone disappear once delete.retention.ms has
passed; a compacted topic refuses a record without a key (INVALID_RECORD).

Compaction runs either in the broker's background cleaner (`[topics] compaction-check-ms`
small, `min.cleanable.dirty.ratio` 0.01) or offline with `sluice compact --data-dir` on the
stopped broker. The workload leaves nothing to chance about what may be cleaned: small
segments (4096 bytes) so the log has several, several values per key with tombstones among
them, then enough records with unique keys that every workload record lies in a sealed
segment (a log's active segment is never compacted, in Kafka as here).
"""

from __future__ import annotations

import random
import subprocess
import time

import pytest
from confluent_kafka import KafkaError

from admin_helpers import admin, create
from clients import Record, Stored, consume_all, produce_all, producer
from conftest import artifact, unique

SEGMENT_BYTES = 4096
DELETE_RETENTION_MS = 1000
KEYS = 30
VERSIONS = 5
DELETED_KEYS = range(0, 6)       # the last record of these keys is a tombstone
RESURRECTED_KEYS = range(6, 9)   # a tombstone in the middle, then new values
FILLERS = 80                     # unique keys after the workload: > 4096 bytes of them
# How long the background cleaner (every 200 ms) may take to reach the final state, tombstones
# removed delete.retention.ms after they were first cleaned.
COMPACTED_S_MAX = 30
# Small batches: segments roll at batch boundaries.
PRODUCER = {"linger.ms": 0, "batch.num.messages": 10}

COMPACT = {"cleanup.policy": "compact", "segment.bytes": str(SEGMENT_BYTES),
           "delete.retention.ms": str(DELETE_RETENTION_MS), "min.compaction.lag.ms": "0"}


def key(k: int) -> bytes:
    return f"key-{k:02d}".encode()


def workload() -> list[Record]:
    """VERSIONS rounds over KEYS keys in shuffled order (values of ~80 bytes); tombstones
    for RESURRECTED_KEYS after round 2 and for DELETED_KEYS at the end; then FILLERS records
    with unique keys."""
    rng = random.Random(11)
    out: list[Record] = []
    for v in range(VERSIONS):
        order = list(range(KEYS))
        rng.shuffle(order)
        out += [Record(key(k), f"key-{k:02d}-version-{v}-".encode().ljust(80, b"x"))
                for k in order]
        if v == 2:
            out += [Record(key(k), None) for k in RESURRECTED_KEYS]
    out += [Record(key(k), None) for k in DELETED_KEYS]
    out += [Record(f"filler-{i:03d}".encode(), f"filler-{i:03d}-".encode().ljust(100, b"f"))
            for i in range(FILLERS)]
    return out


def latest_per_key(stored: list[Stored]) -> dict[bytes, Stored]:
    latest: dict[bytes, Stored] = {}
    for s in stored:
        latest[s.record.key] = s
    return latest


def positions(stored) -> dict[int, tuple[bytes | None, bytes | None]]:
    return {s.offset: (s.record.key, s.record.value) for s in stored}


def check_compacted(written: list[Stored], got: list[Stored], *, tombstones_gone: bool) -> None:
    """`got` (a read from the beginning) is the compaction of `written`: only each key's
    latest record, at the offset it was written at, with its content; a key whose latest
    record is a tombstone has that tombstone or (once removed) nothing, and with
    `tombstones_gone` nothing."""
    written_at = positions(written)
    read = positions(got)
    changed = {o: (read[o], written_at.get(o)) for o in read if read[o] != written_at.get(o)}
    assert not changed, (f"records not as written (offset: (read, written)): "
                         f"{list(changed.items())[:3]}")
    latest = latest_per_key(written)
    expected = {s.offset for s in latest.values() if s.record.value is not None}
    tombstones = {s.offset for s in latest.values() if s.record.value is None}
    superseded = sorted(set(read) - expected - tombstones)
    assert not superseded, (
        f"{len(superseded)} superseded records still read, first at offsets {superseded[:10]}")
    missing = sorted(expected - set(read))
    assert not missing, f"latest values missing at offsets {missing[:10]}"
    if tombstones_gone:
        left = sorted(tombstones & set(read))
        assert not left, (f"{len(left)} tombstones still read after delete.retention.ms: "
                          f"offsets {left}")
    assert [s.offset for s in got] == sorted(read), "records not read in offset order"


def produce_workload(bootstrap: str, topic: str) -> list[Stored]:
    written = produce_all(bootstrap, topic, workload(), partition=0, **PRODUCER)
    assert [s.offset for s in written] == list(range(len(written)))
    return written


def segment_count(data_dir, topic: str) -> int:
    return len(list((data_dir / "topics" / topic / "0").glob("*.log")))


@pytest.mark.timeout(120)
def test_background_cleaner_keeps_the_latest_value_per_key_at_its_offset(make_broker):
    """With compaction-check-ms 200 and min.cleanable.dirty.ratio 0.01, the broker's cleaner
    compacts the topic while it runs: polling reads from the beginning, every read shows only
    records as written (at their offsets), until it is exactly the latest value per key
    without the deleted keys; new records then continue at the old log end."""
    broker = make_broker(topics={"compaction-check-ms": 200})
    topic = unique("compact-online")
    create(admin(broker.bootstrap), topic, 1, {**COMPACT, "min.cleanable.dirty.ratio": "0.01"})
    written = produce_workload(broker.bootstrap, topic)
    assert segment_count(broker.data_dir, topic) >= 4, "the workload did not roll segments"

    latest = latest_per_key(written)
    final = sorted(s.offset for s in latest.values() if s.record.value is not None)
    deadline = time.monotonic() + COMPACTED_S_MAX
    while True:
        got = consume_all(broker.bootstrap, topic, 1)
        offsets = [s.offset for s in got]
        if offsets == final:
            break
        written_at = positions(written)
        bad = [o for o, kv in positions(got).items() if written_at.get(o) != kv]
        assert not bad, f"records not as written at offsets {bad[:10]}"
        assert time.monotonic() < deadline, (
            f"not compacted after {COMPACTED_S_MAX}s: {len(got)} records read, {len(final)} "
            f"expected; {len(set(offsets) - set(final))} extra, "
            f"{len(set(final) - set(offsets))} missing (extra offsets "
            f"{sorted(set(offsets) - set(final))[:10]})")
        time.sleep(0.3)
    check_compacted(written, got, tombstones_gone=True)

    more = produce_all(broker.bootstrap, topic, [Record(b"key-00", b"after")], partition=0)
    assert more[0].offset == len(written), "a new record reused a compacted-away offset"
    broker.assert_healthy()


@pytest.mark.timeout(180)
def test_sluice_compact_offline_keeps_the_latest_value_per_key_at_its_offset(make_broker):
    """`sluice compact --data-dir DIR --topic T` on the stopped broker: after the first pass
    each key reads as its latest record at its original offset (a deleted key as its
    tombstone, or nothing); after delete.retention.ms and a second pass the deleted keys are
    gone; the broker restarts over the compacted log and appends after its old end."""
    broker = make_broker()
    topic = unique("compact-offline")
    create(admin(broker.bootstrap), topic, 1, COMPACT)
    written = produce_workload(broker.bootstrap, topic)
    assert segment_count(broker.data_dir, topic) >= 4, "the workload did not roll segments"

    def compact_offline() -> None:
        assert broker.stop() == 0
        done = subprocess.run([str(artifact("SLUICE_BIN")), "compact", "--data-dir",
                               str(broker.data_dir), "--topic", topic],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (f"sluice compact exited {done.returncode}:\n"
                                      f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        broker.start()

    compact_offline()
    first = consume_all(broker.bootstrap, topic, 1)
    check_compacted(written, first, tombstones_gone=False)
    assert len(first) < len(written), "the first pass removed nothing"

    # Time itself is the condition: the tombstones are kept for delete.retention.ms.
    time.sleep(DELETE_RETENTION_MS / 1000 + 0.5)
    compact_offline()
    second = consume_all(broker.bootstrap, topic, 1)
    check_compacted(written, second, tombstones_gone=True)

    more = produce_all(broker.bootstrap, topic, [Record(b"key-00", b"after")], partition=0)
    assert more[0].offset == len(written), "a new record reused a compacted-away offset"
    broker.assert_healthy()


@pytest.mark.timeout(60)
def test_a_keyless_record_to_a_compacted_topic_is_refused_invalid_record(broker):
    """A compacted topic needs a key on every record: confluent-kafka's delivery report for a
    record without one carries INVALID_RECORD, and the record is not written; a keyed record
    to the same topic is accepted."""
    topic = unique("compact-keyless")
    create(admin(broker.bootstrap), topic, 1, COMPACT)
    p = producer(broker.bootstrap, **{"message.timeout.ms": 20000, "linger.ms": 0})
    reports: list = []
    p.produce(topic, key=None, value=b"no key", partition=0,
              on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert p.flush(30) == 0
    assert len(reports) == 1
    err, _ = reports[0]
    assert err is not None, "a keyless record was accepted by a compacted topic"
    assert err.code() == KafkaError.INVALID_RECORD, f"expected INVALID_RECORD, got {err}"

    ok = produce_all(broker.bootstrap, topic, [Record(b"k", b"keyed")], partition=0)
    assert ok[0].offset == 0, "the refused record took an offset"
    got = consume_all(broker.bootstrap, topic, 1)
    assert [(s.offset, s.record.value) for s in got] == [(0, b"keyed")]
    broker.assert_healthy()
