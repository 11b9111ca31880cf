"""Group members and keyed producers of each client library, for the group scenario
(groups_helpers.py): confluent-kafka, kafka-python and aiokafka in threads of the test
process, kcat and kafkajs (tests/node) as child processes that report in JSON lines.

Every member subscribes with its client's own group API, starts from the earliest offset when
the group has none committed, and uses the same short group timings (groups_helpers).
Commit policy, which decides what the scenario may assert:
  - confluent-kafka, kafka-python, aiokafka, kafkajs: no auto-commit; the member commits
    synchronously what it consumed (each message, or each poll's records) before it consumes
    more, and before it gives partitions up in a rebalance: exactly once.
  - kcat: librdkafka's auto-commit (kcat has no other), committed on rebalance and close
    and otherwise every few seconds: at least once by contract.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
from pathlib import Path

from confluent_kafka import Consumer

import clients
from groups_helpers import (FETCH_WAIT_MS, HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS,
                            STOP_S_MAX, Member, ThreadMember)

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
KAFKAJS_CLIENT = NODE_DIR / "kafkajs_client.js"
PRODUCE_S_MAX = 60.0


# -- confluent-kafka ----------------------------------------------------------------------------

class ConfluentMember(ThreadMember):
    """confluent-kafka Consumer.subscribe(); commits each message synchronously."""

    def __init__(self, name: str, topic: str, group: str, bootstrap: str) -> None:
        super().__init__(name)
        self.topic, self.group, self.bootstrap = topic, group, bootstrap
        self.errors = clients.ClientErrors()

    def run(self, stop: threading.Event) -> None:
        c = Consumer({
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group,
            "client.id": self.name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
            "fetch.wait.max.ms": FETCH_WAIT_MS,
            "error_cb": self.errors.error_cb,
            "logger": self.errors.logger,
            **clients.CLIENT_TIMEOUTS,
        })
        c.subscribe([self.topic],
                    on_assign=lambda _c, ps: self.set_assignment(p.partition for p in ps),
                    on_revoke=lambda _c, ps: self.set_assignment(()),
                    on_lost=lambda _c, ps: self.fail(f"partitions lost: {ps}"))
        try:
            while not stop.is_set():
                msg = c.poll(0.1)
                if msg is None:
                    continue
                if msg.error():
                    raise AssertionError(f"consumer error: {msg.error()}")
                self.record(msg.partition(), msg.offset(), msg.key(), msg.value())
                for tp in c.commit(message=msg, asynchronous=False):
                    assert tp.error is None, f"commit of {tp}: {tp.error}"
            assert not self.errors.errors, f"error_cb: {self.errors.errors[:5]}"
        finally:
            c.close()


def confluent_produce(bootstrap: str):
    def produce(topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        clients.produce_all(bootstrap, topic, [clients.Record(k, v) for k, v in pairs],
                            timeout_s=PRODUCE_S_MAX)
    return produce


# -- kafka-python -------------------------------------------------------------------------------

class KafkaPythonMember(ThreadMember):
    """kafka-python KafkaConsumer subscribed with a rebalance listener; commit() (synchronous)
    after each poll that returned records."""

    # poll() returns as soon as records arrive; its timeout only bounds an idle poll. With
    # 100 ms, kafka-python 3.0.12 was seen (about one run in six) to leave a member stuck right
    # after its SyncGroup answer: assigned by the broker, never heartbeating, its session then
    # expiring. Idle polls of a second, as usual, did not show it in 15 runs.
    POLL_MS = 1000

    def __init__(self, name: str, topic: str, group: str, bootstrap: str) -> None:
        super().__init__(name)
        self.topic, self.group, self.bootstrap = topic, group, bootstrap

    def run(self, stop: threading.Event) -> None:
        from kafka import ConsumerRebalanceListener, KafkaConsumer

        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member.set_assignment(())

            def on_partitions_assigned(self, assigned):
                member.set_assignment(tp.partition for tp in assigned)

        c = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group,
                          client_id=self.name, enable_auto_commit=False,
                          auto_offset_reset="earliest",
                          session_timeout_ms=SESSION_TIMEOUT_MS,
                          heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                          fetch_max_wait_ms=FETCH_WAIT_MS, request_timeout_ms=15000)
        try:
            c.subscribe([self.topic], listener=Listener())
            while not stop.is_set():
                batch = c.poll(timeout_ms=self.POLL_MS)
                for records in batch.values():
                    for r in records:
                        self.record(r.partition, r.offset, r.key, r.value)
                if batch:
                    c.commit()
        finally:
            c.close()


def kafka_python_produce(bootstrap: str):
    def produce(topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        from kafka import KafkaProducer
        # Not idempotent (kafka-python 3 defaults to it): these tests are about groups, and
        # test_idempotence.py covers the idempotent producer.
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                          enable_idempotence=False, client_id="e2e-kafka-python-producer")
        try:
            futures = [p.send(topic, key=k, value=v) for k, v in pairs]
            p.flush(timeout=PRODUCE_S_MAX)
            for f in futures:
                f.get(timeout=PRODUCE_S_MAX)
        finally:
            p.close(timeout=10)
    return produce


# -- aiokafka -----------------------------------------------------------------------------------

class AiokafkaMember(ThreadMember):
    """aiokafka AIOKafkaConsumer subscribed with a rebalance listener. aiokafka rebalances in
    a background task, so (as its docs advise) fetching, processing and the synchronous
    commit() happen under a lock that the listener's on_partitions_revoked also takes: no
    partition is given up between a fetch and its commit."""

    def __init__(self, name: str, topic: str, group: str, bootstrap: str) -> None:
        super().__init__(name)
        self.topic, self.group, self.bootstrap = topic, group, bootstrap

    def run(self, stop: threading.Event) -> None:
        asyncio.run(self._run(stop))

    async def _run(self, stop: threading.Event) -> None:
        from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

        member = self
        lock = asyncio.Lock()

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                async with lock:
                    member.set_assignment(())

            async def on_partitions_assigned(self, assigned):
                member.set_assignment(tp.partition for tp in assigned)

        c = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group,
                             client_id=self.name, enable_auto_commit=False,
                             auto_offset_reset="earliest",
                             session_timeout_ms=SESSION_TIMEOUT_MS,
                             heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                             fetch_max_wait_ms=FETCH_WAIT_MS, request_timeout_ms=15000)
        c.subscribe([self.topic], listener=Listener())
        await c.start()
        try:
            while not stop.is_set():
                async with lock:
                    batch = await c.getmany(timeout_ms=100)
                    for records in batch.values():
                        for r in records:
                            self.record(r.partition, r.offset, r.key, r.value)
                    if batch:
                        await c.commit()
        finally:
            await c.stop()


def aiokafka_produce(bootstrap: str):
    async def send_all(topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        from aiokafka import AIOKafkaProducer
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                             client_id="e2e-aiokafka-producer")
        await p.start()
        try:
            futures = [await p.send(topic, key=k, value=v) for k, v in pairs]
            await asyncio.wait_for(asyncio.gather(*futures), PRODUCE_S_MAX)
        finally:
            await p.stop()

    def produce(topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        asyncio.run(send_all(topic, pairs))
    return produce


# -- child processes: kcat and kafkajs ---------------------------------------------------------

class ProcessMember(Member):
    """A member that is a child process: stdout and stderr are read line by line in threads
    (`on_stdout`, `on_stderr`); stop() sends SIGTERM, which the process answers by closing
    its consumer (leaving the group) and exiting 0."""

    def __init__(self, name: str, command: list[str], cwd: Path | None = None) -> None:
        super().__init__(name)
        self.command = command
        self.cwd = cwd
        self.stderr_lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._readers: list[threading.Thread] = []

    def on_stdout(self, line: str) -> None:
        raise NotImplementedError

    def on_stderr(self, line: str) -> None:
        pass

    def start(self) -> "ProcessMember":
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=self.cwd, text=True, bufsize=1)
        for stream, handler in ((self.proc.stdout, self.on_stdout),
                                (self.proc.stderr, self._stderr)):
            t = threading.Thread(target=self._read, args=(stream, handler), daemon=True,
                                 name=f"{self.name}-reader")
            t.start()
            self._readers.append(t)
        return self

    def _stderr(self, line: str) -> None:
        self.stderr_lines.append(line)
        self.on_stderr(line)

    def _read(self, stream, handler) -> None:
        try:
            for line in stream:
                handler(line.rstrip("\n"))
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.fail(f"reading output: {type(e).__name__}: {e}")

    def check(self) -> None:
        super().check()
        if self.proc is not None and self.proc.poll() is not None and not self._stopping:
            raise AssertionError(f"member {self.name} exited with {self.proc.returncode}:\n"
                                 + "\n".join(self.stderr_lines[-30:]))

    _stopping = False

    def stop(self) -> None:
        assert self.proc is not None
        self._stopping = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_S_MAX)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"member {self.name} did not exit within {STOP_S_MAX}s of "
                                 "SIGTERM:\n" + "\n".join(self.stderr_lines[-30:]))
        for t in self._readers:
            t.join(10)
        assert code == 0, (f"member {self.name} exited with {code}:\n"
                           + "\n".join(self.stderr_lines[-30:]))
        super().check()


class KcatMember(ProcessMember):
    """`kcat -G` (balanced consumer), printing each message as JSON (-J); its rebalance
    callback reports every assignment on stderr."""

    def __init__(self, name: str, topic: str, group: str, bootstrap: str) -> None:
        super().__init__(name, [
            "kcat", "-b", bootstrap, "-G", group, "-J", "-u",
            "-X", f"client.id={name}",
            "-X", "auto.offset.reset=earliest",
            "-X", f"session.timeout.ms={SESSION_TIMEOUT_MS}",
            "-X", f"heartbeat.interval.ms={HEARTBEAT_INTERVAL_MS}",
            "-X", f"fetch.wait.max.ms={FETCH_WAIT_MS}",
            topic])

    def on_stdout(self, line: str) -> None:
        if not line.strip():
            return
        m = json.loads(line)
        key = m.get("key")
        value = m.get("payload")
        self.record(m["partition"], m["offset"], None if key is None else key.encode(),
                    None if value is None else value.encode())

    def on_stderr(self, line: str) -> None:
        # `% Group G rebalanced (memberid M): assigned: T [0], T [2]` or `...: revoked: ...`
        if "rebalanced" not in line:
            return
        if "assigned:" in line:
            listed = line.split("assigned:", 1)[1]
            self.set_assignment(int(p) for p in _bracketed(listed))
        elif "revoked:" in line:
            self.set_assignment(())


def _bracketed(text: str) -> list[str]:
    out = []
    while "[" in text:
        text = text.split("[", 1)[1]
        inner, text = text.split("]", 1)
        out.append(inner.strip())
    return out


def kcat_produce(bootstrap: str, work_dir: Path):
    def produce(topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        path = work_dir / f"kcat-input-{os.getpid()}-{threading.get_ident()}.txt"
        path.write_bytes(b"".join(k + b":" + v + b"\n" for k, v in pairs))
        done = clients.kcat("-P", "-b", bootstrap, "-t", topic, "-K", ":", "-X", "acks=all",
                            "-l", str(path), timeout_s=PRODUCE_S_MAX)
        err = done.stderr.decode(errors="replace")
        assert done.returncode == 0, f"kcat -P exited {done.returncode}:\n{err[-2000:]}"
        assert "Delivery failed" not in err, f"kcat reported delivery failures:\n{err[-2000:]}"
    return produce


class KafkajsMember(ProcessMember):
    """A kafkajs consumer (tests/node/kafkajs_client.js `consume`) with autoCommit off,
    committing each message with commitOffsets() before it takes the next. It prints JSON
    lines: {"event": "assigned", "partitions": [...]}, {"event": "message", ...}."""

    def __init__(self, name: str, topic: str, group: str, bootstrap: str) -> None:
        super().__init__(name, node_command("consume", {
            "bootstrap": bootstrap, "topic": topic, "group": group, "clientId": name,
            "sessionTimeout": SESSION_TIMEOUT_MS, "heartbeatInterval": HEARTBEAT_INTERVAL_MS,
            "maxWaitTimeInMs": FETCH_WAIT_MS}), cwd=NODE_DIR)

    def on_stdout(self, line: str) -> None:
        if not line.strip():
            return
        e = json.loads(line)
        if e["event"] == "assigned":
            self.set_assignment(e["partitions"])
        elif e["event"] == "message":
            self.record(e["partition"], int(e["offset"]), _b(e["key"]), _b(e["value"]))
        elif e["event"] == "error":
            self.fail(e["error"])


def _b(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


def node_command(mode: str, args: dict) -> list[str]:
    if not (NODE_DIR / "node_modules" / "kafkajs").is_dir():
        raise AssertionError(f"kafkajs is not installed in {NODE_DIR}/node_modules: run "
                             "`bash tests/run.sh` (npm ci)")
    return ["node", str(KAFKAJS_CLIENT), mode, json.dumps(args)]


def kafkajs_produce(bootstrap: str):
    def produce(topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        messages = [{"key": k.decode(), "value": v.decode()} for k, v in pairs]
        done = subprocess.run(node_command("produce", {"bootstrap": bootstrap, "topic": topic}),
                              input=json.dumps(messages), capture_output=True, text=True,
                              cwd=NODE_DIR, timeout=PRODUCE_S_MAX)
        assert done.returncode == 0, (f"kafkajs produce exited {done.returncode}:\n"
                                      f"{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["acknowledged"] == len(pairs), result
    return produce
