"""The consumer-group scenario every client's group test runs (test_groups.py), and what it
needs: a client-neutral group member, polling waits, and the group's committed offsets.

A `Member` is one consumer of one client library, subscribed to a topic in a group (the
client's own group API: it joins, is assigned partitions by the group protocol, commits).
`start()` starts it consuming, `stop()` closes it cleanly (the client leaves the group) and
fails if it failed. While it runs it records every message it consumed and the partitions it
was last assigned. Each client's members are in group_clients.py.

The scenario (`run_group_scenario`), with a 4-partition topic and keyed messages whose values
are unique, so every delivery is accounted for:

    1. members m1 and m2 join and split the partitions; phase A1 is produced; each consumes
       (some of) it;
    2. m2 closes (leaves the group); A2 is produced at once, while the group rebalances;
       m1 ends up with all four partitions and consumes A2, starting m2's old partitions at
       the offsets m2 committed;
    3. m2 rejoins as a new consumer; the group rebalances so that both hold partitions again
       (the assignment spreads); A3 is produced and each consumes some of it, m2 starting its
       partitions at the offsets m1 committed;
    4. both close: the group's committed offsets are then the end of every partition;
    5. B is produced while the group has no member; m1 and m2 restart, spread again, and
       consume B, each partition from its committed offset (nothing of A is read again).

It asserts no loss (every produced message consumed), and with `exactly_once` (members that
commit synchronously after each message or poll, before they consume more) that no message
was consumed twice: at every ownership change the next owner starts at the offset the last
one committed. Members that auto-commit in the background (kcat) are only at-least-once by
the client's contract, so those runs assert no loss, report duplicates, and still assert that
after the clean stop everything was committed and the restart resumed exactly there.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable

from confluent_kafka import Consumer, TopicPartition

from clients import CLIENT_TIMEOUTS, create_topic
from conftest import Broker, unique

PARTITIONS = 4
# Messages per phase: A1, A2, A3 before the stop, B after it. Small: the rebalances are the
# point, not the volume.
PHASES = {"A1": 120, "A2": 40, "A3": 40, "B": 100}
KEYS = 40
# Coordinator settings for group tests: no initial rebalance delay, and short sessions allowed.
GROUPS_CONFIG = {"initial-rebalance-delay-ms": 0, "session-timeout-min-ms": 1000}
# Client-side group timings every member uses (milliseconds): rebalances are noticed within a
# heartbeat, idle fetches return quickly, and a member that vanished is dropped in seconds.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 500
FETCH_WAIT_MS = 100
# How long one step of the scenario may take (a join, a rebalance, consuming one phase).
STEP_S_MAX = 45.0
# How long a member may take to close cleanly.
STOP_S_MAX = 30.0


@dataclass(frozen=True)
class Consumed:
    member: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Member:
    """One group member (see the module docstring). Subclasses implement start() and
    stop(); they call `record` for every message and `set_assignment` on every assignment
    change, from any thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._consumed: list[Consumed] = []
        self._assignment: frozenset[int] = frozenset()
        self.assignments_seen: list[frozenset[int]] = []

    def record(self, partition: int, offset: int, key: bytes | None,
               value: bytes | None) -> None:
        with self._lock:
            self._consumed.append(Consumed(self.name, partition, offset, key, value))

    def set_assignment(self, partitions) -> None:
        with self._lock:
            self._assignment = frozenset(int(p) for p in partitions)
            self.assignments_seen.append(self._assignment)

    @property
    def consumed(self) -> list[Consumed]:
        with self._lock:
            return list(self._consumed)

    @property
    def assignment(self) -> frozenset[int]:
        with self._lock:
            return self._assignment

    def fail(self, what: str) -> None:
        if self.failure is None:
            self.failure = what

    def check(self) -> None:
        assert self.failure is None, f"member {self.name} failed: {self.failure}"

    def start(self) -> "Member":
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class ThreadMember(Member):
    """A member whose client runs in a thread of the test process: `run(stop)` consumes until
    the event is set, then closes the client."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"member-{name}", daemon=True)

    def run(self, stop: threading.Event) -> None:
        raise NotImplementedError

    def _main(self) -> None:
        try:
            self.run(self._stop)
        except BaseException:  # noqa: BLE001 - reported by check()
            self.fail(traceback.format_exc(limit=8))

    def start(self) -> "ThreadMember":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(STOP_S_MAX)
        assert not self._thread.is_alive(), f"member {self.name} did not close in {STOP_S_MAX}s"
        self.check()


def wait_until(what: str, condition: Callable[[], bool], members: list[Member],
               timeout_s: float = STEP_S_MAX, detail: Callable[[], str] = lambda: "") -> None:
    """Polls `condition` every 50 ms until it holds; fails (with `detail()`) after
    `timeout_s`, or at once when a member has failed."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        for m in members:
            m.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s}s. {detail()}")
        time.sleep(0.05)


def assignments(members: list[Member]) -> str:
    return ", ".join(f"{m.name}={sorted(m.assignment)}" for m in members)


def wait_spread(members: list[Member], partitions: int = PARTITIONS) -> dict[str, list[int]]:
    """Waits until the members' assignments split the partitions between them: each holds at
    least one, none is held twice, none is unheld. Returns the split."""
    everything = frozenset(range(partitions))

    def spread() -> bool:
        held = [m.assignment for m in members]
        return (all(held) and sum(len(h) for h in held) == partitions
                and frozenset().union(*held) == everything)

    wait_until(f"assignment spread over {[m.name for m in members]}", spread, members,
               detail=lambda: assignments(members))
    return {m.name: sorted(m.assignment) for m in members}


def wait_sole_owner(member: Member, others: list[Member] = (),
                    partitions: int = PARTITIONS) -> None:
    wait_until(f"{member.name} assigned all {partitions} partitions",
               lambda: member.assignment == frozenset(range(partitions)), [member, *others],
               detail=lambda: assignments([member]))


def consumed_values(members: list[Member]) -> Counter:
    return Counter(c.value for m in members for c in m.consumed)


def wait_consumed(members: list[Member], every: list[Member], values: set[bytes]) -> None:
    """Waits until `values` were all consumed by members of `every` (all members of the run,
    stopped ones included); `members` are the running ones, checked for failures."""
    def missing() -> set[bytes]:
        return values - set(consumed_values(every))

    wait_until(f"{len(values)} messages consumed", lambda: not missing(), members,
               detail=lambda: (f"{len(missing())} missing, e.g. {sorted(missing())[:5]}; "
                               f"assignments {assignments(members)}"))


def committed_offsets(bootstrap: str, group: str, topic: str,
                      partitions: int = PARTITIONS) -> dict[int, int]:
    """The group's committed offset per partition (OffsetFetch, from a consumer that does not
    join the group); a negative value means none committed."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False, **CLIENT_TIMEOUTS})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
        for tp in tps:
            assert tp.error is None, f"OffsetFetch {topic}[{tp.partition}]: {tp.error}"
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def end_offsets(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> dict[int, int]:
    """Each partition's high watermark (ListOffsets latest)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("watermarks"),
                  **CLIENT_TIMEOUTS})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10,
                                           cached=False)[1]
                for p in range(partitions)}
    finally:
        c.close()


def check_shared(members: list[Member], values: set[bytes], phase: str) -> None:
    """Each member consumed some of `values`: the partitions it was assigned got messages and
    it, not another member, consumed them."""
    got = {m.name: sum(1 for c in m.consumed if c.value in values) for m in members}
    assert all(got.values()), f"phase {phase}: messages consumed per member {got}"


def phase_messages(phase: str, n: int) -> list[tuple[bytes, bytes]]:
    """`n` (key, value) pairs: keys cycle over KEYS names, values are unique in the run."""
    return [(f"key-{i % KEYS:02d}".encode(), f"{phase}-{i:04d}".encode()) for i in range(n)]


@dataclass
class GroupRun:
    """What a scenario saw, for the test's own assertions and for failure messages."""
    topic: str
    group: str
    spreads: list[dict[str, list[int]]]
    committed_at_stop: dict[int, int]
    duplicates: int


def run_group_scenario(broker: Broker, client: str, *,
                       produce: Callable[[str, list[tuple[bytes, bytes]]], None],
                       make_member: Callable[[str, str, str], Member],
                       exactly_once: bool) -> GroupRun:
    """Runs the scenario of the module docstring. `produce(topic, pairs)` sends keyed
    messages with the client under test and returns once all are acknowledged;
    `make_member(name, topic, group)` builds an unstarted member."""
    topic = unique(f"{client}-group")
    group = unique(f"{client}-g")
    create_topic(broker.bootstrap, topic, PARTITIONS)
    sent = {phase: phase_messages(phase, n) for phase, n in PHASES.items()}
    every: list[Member] = []

    def member(name: str) -> Member:
        m = make_member(name, topic, group)
        every.append(m)
        return m.start()

    def values(*phases: str) -> set[bytes]:
        return {v for p in phases for _, v in sent[p]}

    running: list[Member] = []
    try:
        # 1. Two members split the partitions, then A1 is consumed between them.
        m1, m2 = member("m1"), member("m2")
        running = [m1, m2]
        spreads = [wait_spread(running)]
        produce(topic, sent["A1"])
        wait_consumed(running, every, values("A1"))
        check_shared(running, values("A1"), "A1")

        # 2. m2 leaves; A2 is produced while the group rebalances; m1 takes m2's partitions
        #    over from m2's commits.
        m2.stop()
        running = [m1]
        produce(topic, sent["A2"])
        wait_sole_owner(m1)
        wait_consumed(running, every, values("A1", "A2"))

        # 3. m2 rejoins; once the assignment has spread again, A3 is consumed between both,
        #    m2 starting its partitions from m1's commits.
        m2 = member("m2-rejoined")
        running = [m1, m2]
        spreads.append(wait_spread(running))
        produce(topic, sent["A3"])
        wait_consumed(running, every, values("A1", "A2", "A3"))
        check_shared(running, values("A3"), "A3")

        # 4. Both close cleanly; what they consumed is what the group committed.
        for m in running:
            m.stop()
        running = []
        ends = end_offsets(broker.bootstrap, topic)
        assert sum(ends.values()) == sum(PHASES[p] for p in ("A1", "A2", "A3")), ends
        committed = committed_offsets(broker.bootstrap, group, topic)
        assert committed == ends, (
            f"after both members closed, committed offsets {committed} are not the ends of "
            f"the partitions {ends}: consumed messages were not committed")

        # 5. B produced while nobody is in the group; the restarted members resume.
        produce(topic, sent["B"])
        m1, m2 = member("m1-restarted"), member("m2-restarted")
        running = [m1, m2]
        spreads.append(wait_spread(running))
        wait_consumed(running, every, values("A1", "A2", "A3", "B"))
        for m in running:
            m.stop()
        running = []
    finally:
        for m in running:
            try:
                m.stop()
            except AssertionError:
                pass

    everything = [c for m in every for c in m.consumed]
    counts = Counter((c.partition, c.offset) for c in everything)
    by_value = Counter(c.value for c in everything)
    all_values = values(*PHASES)
    assert set(by_value) == all_values, (
        f"consumed {len(set(by_value) - all_values)} values never produced")
    duplicates = sum(n - 1 for n in counts.values())
    if exactly_once:
        twice = sorted(k for k, n in counts.items() if n > 1)
        who = [(c.member, c.partition, c.offset) for c in everything
               if (c.partition, c.offset) in set(twice[:3])]
        assert not twice, (
            f"{len(twice)} messages consumed more than once, first (partition, offset) "
            f"{twice[:5]}; consumed by (member, partition, offset): {who}")
        assert len(everything) == len(all_values)

    # The restart resumed at the committed offsets: per partition, the first offset a
    # restarted member consumed is the offset committed at the stop, and nothing of phase A
    # was consumed again after the restart.
    after = [c for m in every if m.name.endswith("-restarted") for c in m.consumed]
    first_after: dict[int, int] = {}
    for c in after:
        first_after[c.partition] = min(first_after.get(c.partition, c.offset), c.offset)
    for p, first in first_after.items():
        assert first == committed[p], (
            f"partition {p}: the restarted group began at offset {first}, its committed "
            f"offset was {committed[p]}")
    again = [c for c in after if not c.value.startswith(b"B-")]
    assert not again, f"{len(again)} phase-A messages consumed again after the restart"

    # Keyed messages: one key, one partition. With exactly-once, each member also consumed
    # each of its partitions in offset order.
    partition_of_key: dict[bytes, set[int]] = defaultdict(set)
    for c in everything:
        partition_of_key[c.key].add(c.partition)
    split = {k: sorted(ps) for k, ps in partition_of_key.items() if len(ps) > 1}
    assert not split, f"keys found in more than one partition: {split}"
    if exactly_once:
        for m in every:
            per_partition: dict[int, list[int]] = defaultdict(list)
            for c in m.consumed:
                per_partition[c.partition].append(c.offset)
            for p, offsets in per_partition.items():
                assert offsets == sorted(offsets), (
                    f"{m.name} consumed partition {p} out of order: {offsets[:20]}")
    return GroupRun(topic, group, spreads, committed, duplicates)
