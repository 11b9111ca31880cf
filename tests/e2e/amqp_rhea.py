"""rhea (Node.js AMQP 1.0) as child processes: tests/node/rhea_client.js, whose modes print
JSON lines (see its header). `run` waits for a mode to finish; `RheaProcess` keeps one running
so that a test can act between its lines (send once its receivers are attached);
`receivers_while_sending` is that for the `receivers` mode.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path

from conftest import Broker

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
RHEA_CLIENT = NODE_DIR / "rhea_client.js"
# A rhea mode that has not finished in this long is stuck.
RUN_S_MAX = 90.0


def command(broker: Broker, mode: str, settings: dict) -> list[str]:
    if not (NODE_DIR / "node_modules" / "rhea").is_dir():
        raise AssertionError(f"rhea is not installed in {NODE_DIR}/node_modules: run "
                             "`bash tests/run.sh` (npm ci)")
    settings = {"host": "127.0.0.1", "port": broker.port("amqp"), **settings}
    return ["node", str(RHEA_CLIENT), mode, json.dumps(settings)]


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def run(broker: Broker, mode: str, **settings) -> list[dict]:
    """Runs a mode to its end; returns its events. Fails on a non-zero exit."""
    done = subprocess.run(command(broker, mode, settings), capture_output=True, text=True,
                          cwd=NODE_DIR, timeout=RUN_S_MAX)
    assert done.returncode == 0, (f"rhea {mode} exited {done.returncode}:\n"
                                  f"{done.stderr[-3000:]}")
    return _events(done.stdout)


def send(broker: Broker, address: str, messages: list[dict]) -> None:
    """Messages as rhea_client.js takes them: {"body", "data", "durable"}."""
    [sent] = run(broker, "send", address=address, messages=messages)
    assert sent == {"event": "sent", "accepted": len(messages)}, sent


def receive(broker: Broker, address: str, count: int, outcomes: list[str] | None = None,
            idle_ms: int = 1000) -> list[dict]:
    """The messages a one-credit-at-a-time receiver got (see rhea_client.js `receive`)."""
    events = run(broker, "receive", address=address, count=count, outcomes=outcomes or [],
                 idleMs=idle_ms)
    messages = [e for e in events if e["event"] == "message"]
    assert events[-1] == {"event": "done", "count": len(messages)}, events[-1]
    return messages


def receivers_while_sending(broker: Broker, address: str, messages: list[dict], receivers: int,
                            credit: int, each: bool) -> list[list[str]]:
    """Attaches `receivers` receivers to `address` (rhea_client.js `receivers`), sends `messages`
    once they are attached, and returns the bodies each got: until together (or with `each`,
    every one) they have as many as were sent."""
    p = RheaProcess(broker, "receivers", address=address, receivers=receivers, credit=credit,
                    count=len(messages), each=each)
    try:
        p.expect("attached")
        send(broker, address, messages)
        got = p.expect("result")["got"]
        p.finish()
    finally:
        p.kill()
    return got


class RheaProcess:
    """A running mode; `expect(event)` waits for its next line with that event."""

    def __init__(self, broker: Broker, mode: str, **settings) -> None:
        self.mode = mode
        self.proc = subprocess.Popen(command(broker, mode, settings), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=NODE_DIR, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr.append),
                         daemon=True).start()

    @staticmethod
    def _read(stream, sink) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def expect(self, event: str, timeout_s: float = RUN_S_MAX) -> dict:
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"rhea {self.mode}: no {event!r} in {timeout_s}s:\n"
                                 + "\n".join(self.stderr[-30:])) from None
        e = json.loads(line)
        assert e["event"] == event, f"rhea {self.mode}: expected {event!r}, got {e}"
        return e

    def finish(self) -> None:
        try:
            code = self.proc.wait(RUN_S_MAX)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"rhea {self.mode} still running after {RUN_S_MAX}s")
        assert code == 0, f"rhea {self.mode} exited {code}:\n" + "\n".join(self.stderr[-30:])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
