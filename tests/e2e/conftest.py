"""Fixtures for the end-to-end suite: a real `sluice` process per test (or per module), on
loopback ports, with a fresh data directory, its log captured to a file.

Artifacts come from tests/run.sh through environment variables; each has a default under
target/ so `pytest tests/e2e` works after a build:

    SLUICE_BIN            target/release/sluice
    SLUICE_GUEST_LOOP     target/wasm32-wasip2/plugin/sluice_guest_codec_loop.wasm
    SLUICE_GUEST_ALLOC    target/wasm32-wasip2/plugin/sluice_guest_codec_alloc.wasm
    SLUICE_GUEST_TRAP     target/wasm32-wasip2/plugin/sluice_guest_codec_trap.wasm
    SLUICE_CODEC_SWAP_A   target/swap-a/wasm32-wasip2/plugin/sluice_codec_kafka.wasm
    SLUICE_CODEC_SWAP_B   target/swap-b/wasm32-wasip2/plugin/sluice_codec_kafka.wasm
    SLUICE_GUEST_FILTER_LOOP, SLUICE_GUEST_FILTER_TRAP   hostile filters, beside the codecs
    SLUICE_ROUTER_SWAP_A/B, SLUICE_FILTER_SWAP_A/B       tagged key-hash router and match filter
    SLUICE_E2E_LOG        the broker's SLUICE_LOG filter (default `info`)
"""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(E2E_DIR))  # helper modules (kafka_wire, clients) import by name

REPO_ROOT = E2E_DIR.parents[1]
TARGET = REPO_ROOT / "target"
REPORTS_DIR = TARGET / "test-reports"

ARTIFACT_DEFAULTS = {
    "SLUICE_BIN": TARGET / "release" / "sluice",
    "SLUICE_GUEST_LOOP": TARGET / "wasm32-wasip2" / "plugin" / "sluice_guest_codec_loop.wasm",
    "SLUICE_GUEST_ALLOC": TARGET / "wasm32-wasip2" / "plugin" / "sluice_guest_codec_alloc.wasm",
    "SLUICE_GUEST_TRAP": TARGET / "wasm32-wasip2" / "plugin" / "sluice_guest_codec_trap.wasm",
    "SLUICE_CODEC_SWAP_A": TARGET / "swap-a" / "wasm32-wasip2" / "plugin" / "sluice_codec_kafka.wasm",
    "SLUICE_CODEC_SWAP_B": TARGET / "swap-b" / "wasm32-wasip2" / "plugin" / "sluice_codec_kafka.wasm",
    "SLUICE_GUEST_FILTER_LOOP":
        TARGET / "wasm32-wasip2" / "plugin" / "sluice_guest_filter_loop.wasm",
    "SLUICE_GUEST_FILTER_TRAP":
        TARGET / "wasm32-wasip2" / "plugin" / "sluice_guest_filter_trap.wasm",
    "SLUICE_GUEST_FILTER_OLD_WIT":
        TARGET / "wasm32-wasip2" / "plugin" / "sluice_guest_filter_old_wit.wasm",
    "SLUICE_ROUTER_SWAP_A":
        TARGET / "swap-a" / "wasm32-wasip2" / "plugin" / "sluice_router_key_hash.wasm",
    "SLUICE_ROUTER_SWAP_B":
        TARGET / "swap-b" / "wasm32-wasip2" / "plugin" / "sluice_router_key_hash.wasm",
    "SLUICE_FILTER_SWAP_A":
        TARGET / "swap-a" / "wasm32-wasip2" / "plugin" / "sluice_filter_match.wasm",
    "SLUICE_FILTER_SWAP_B":
        TARGET / "swap-b" / "wasm32-wasip2" / "plugin" / "sluice_filter_match.wasm",
}

# Compiled plugins, shared by every broker the suite starts (see Broker.plugins).
PLUGIN_CACHE = Path(os.environ.get("SLUICE_E2E_PLUGIN_CACHE") or TARGET / "e2e-plugin-cache")

# How long a broker may take from spawn to accepting on every listener. The first start on a
# fresh machine compiles the built-in codec with Cranelift (cached on disk afterwards).
STARTUP_S_MAX = 300.0
# How long a graceful stop (SIGTERM: flush storage, exit 0) may take.
SHUTDOWN_S_MAX = 30.0
# Log lines shown with a failure.
LOG_TAIL_LINES = 50
# A host panic prints `thread '<name>' panicked at` (Rust's default hook) at the start of a line
# on stderr, our log. A guest's panic (a trap) may also reach the log, through the plugin log
# interface, but inside a tracing line: `host_panic_line` tells the two apart.
PANIC_MARKER = "panicked"
HOST_PANIC_LINE = re.compile(r"^thread '[^']*'.*panicked", re.M)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def artifact(name: str) -> Path:
    """Path of a build artifact; fails the test (never skips) when it was not built."""
    path = Path(os.environ.get(name) or ARTIFACT_DEFAULTS[name])
    if not path.is_file():
        pytest.fail(f"{name}: {path} does not exist; build it with `bash tests/run.sh`",
                    pytrace=False)
    return path


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports that were free a moment ago (held open together while
    picking, so they are distinct)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (str, Path)):
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'
    raise TypeError(f"no TOML for {v!r}")


def render_config(data_dir: Path, topics: dict, plugins: dict,
                  listeners: dict[str, dict], groups: dict | None = None,
                  admin: str | None = None, extra: str = "") -> str:
    lines = [f"data-dir = {toml_value(data_dir)}", ""]
    if admin:
        lines += ["[admin]", f"address = {toml_value(admin)}", ""]
    for table, values in (("topics", topics), ("plugins", plugins), ("groups", groups)):
        if values:
            lines.append(f"[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
            lines.append("")
    for name, values in listeners.items():
        lines.append(f"[listeners.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines) + extra


class Broker:
    """One `sluice serve` process.

    `listeners` maps a listener name to its settings without `address` (a free port is picked
    per listener, kept across restarts): e.g. {"kafka": {"codec": "builtin:codec-kafka"}}.
    With `flags_only`, no config file is written and the broker gets `--data-dir` and
    `--kafka` on its command line instead (a single `kafka` listener).
    `groups` (consumer-group coordinator settings, e.g. {"initial-rebalance-delay-ms": 0})
    becomes a `[groups]` table, written only when given: the broker's defaults otherwise.
    `extra` is TOML appended to the file as is (addresses, address settings, users).
    Every broker gets its own admin API port too.
    """

    live: list["Broker"] = []

    def __init__(self, root: Path, *, listeners: dict[str, dict] | None = None,
                 topics: dict | None = None, plugins: dict | None = None,
                 groups: dict | None = None, flags_only: bool = False,
                 extra: str = "") -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = root / "data"
        self.config_path = root / "sluice.toml"
        self.log_path = root / "broker.log"
        self.flags_only = flags_only
        self.listeners = listeners or {"kafka": {"codec": "builtin:codec-kafka"}}
        assert not flags_only or list(self.listeners) == ["kafka"]
        # Every setting the contract names, written out: a test states the limits in force.
        self.topics = {"auto-create": True, "default-partitions": 1, **(topics or {})}
        # One compiled-plugin cache for every broker of the run: a component with a language
        # runtime inside (the Python and JavaScript examples) takes Cranelift tens of seconds.
        self.plugins = {"memory-bytes-max": 256 << 20, "call-deadline-ms": 1000,
                        "connections-per-instance": 64, "cache-dir": PLUGIN_CACHE,
                        **(plugins or {})}
        self.groups = dict(groups or {})
        self.extra = extra
        ports = free_ports(len(self.listeners) + 1)
        self.ports = dict(zip(self.listeners, ports))
        self.admin_port = ports[-1]
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.exit_codes: list[int] = []

    # -- addresses ---------------------------------------------------------------------------

    def port(self, listener: str = "kafka") -> int:
        return self.ports[listener]

    def address(self, listener: str = "kafka") -> str:
        return f"127.0.0.1:{self.ports[listener]}"

    @property
    def bootstrap(self) -> str:
        return self.address("kafka")

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "broker not started"
        return self.proc.pid

    # -- lifecycle ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        binary = str(artifact("SLUICE_BIN"))
        if self.flags_only:
            return [binary, "serve", "--data-dir", str(self.data_dir),
                    "--kafka", self.address("kafka"),
                    "--admin", f"127.0.0.1:{self.admin_port}"]
        self.config_path.write_text(render_config(
            self.data_dir, self.topics, self.plugins,
            {name: {"address": self.address(name), **values}
             for name, values in self.listeners.items()}, self.groups,
            f"127.0.0.1:{self.admin_port}", self.extra))
        return [binary, "serve", "--config", str(self.config_path)]

    def start(self) -> "Broker":
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        cmd = self.command()
        env = dict(os.environ)
        env.update({
            "SLUICE_LOG": os.environ.get("SLUICE_E2E_LOG", "info"),
            "NO_COLOR": "1",
            "RUST_BACKTRACE": "1",
        })
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== e2e: start #{self.starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, cwd=self.root, env=env)
        if self not in Broker.live:
            Broker.live.append(self)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_S_MAX
        pending = {**self.ports, "admin": self.admin_port}
        while pending:
            code = self.proc.poll()
            if code is not None:
                pytest.fail(f"broker exited with {code} during startup\n{self.log_tail()}",
                            pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"broker listeners {sorted(pending)} not accepting after "
                            f"{STARTUP_S_MAX}s\n{self.log_tail()}", pytrace=False)
            for name, port in list(pending.items()):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    del pending[name]
                except OSError:
                    pass
            if pending:
                time.sleep(0.05)

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None and self.proc.poll() is None, "broker not running"
        os.kill(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Graceful stop: sends `sig`, waits for exit, returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        os.kill(self.proc.pid, sig)
        try:
            code = self.proc.wait(SHUTDOWN_S_MAX)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"broker did not exit within {SHUTDOWN_S_MAX}s of signal {sig}\n"
                        f"{self.log_tail()}", pytrace=False)
        self.exit_codes.append(code)
        return code

    def kill(self) -> None:
        """SIGKILL: no shutdown path at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.exit_codes.append(self.proc.wait())

    def restart(self) -> "Broker":
        """Graceful stop, asserting exit code 0, then start on the same ports and data."""
        code = self.stop()
        assert code == 0, f"broker exited with {code} on SIGTERM\n{self.log_tail()}"
        return self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def teardown(self) -> None:
        if self.alive():
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(SHUTDOWN_S_MAX)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self.kill()
        if self in Broker.live:
            Broker.live.remove(self)

    # -- log -------------------------------------------------------------------------------

    def log_text(self) -> str:
        if not self.log_path.exists():
            return ""
        return ANSI_ESCAPE.sub("", self.log_path.read_bytes().decode("utf-8", "replace"))

    def log_mark(self) -> int:
        """A position in the log; `log_since(mark)` returns what was logged after it."""
        return len(self.log_text())

    def log_since(self, mark: int) -> str:
        return self.log_text()[mark:]

    def log_lines(self, needle: str, since: int = 0) -> list[str]:
        return [line for line in self.log_since(since).splitlines() if needle in line]

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        lines = self.log_text().splitlines()[-n:]
        return f"--- last {len(lines)} lines of {self.log_path} ---\n" + "\n".join(lines)

    def wait_for_log(self, pattern: str, since: int = 0, timeout_s: float = 10.0,
                     count: int = 1) -> list[re.Match]:
        """Waits until `pattern` (a regex, searched per line) matches at least `count` lines
        logged after `since`; returns the matches."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            found = [m for m in (rx.search(line) for line in self.log_since(since).splitlines())
                     if m]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"log has {len(found)} of {count} lines matching /{pattern}/ "
                            f"after {timeout_s}s\n{self.log_tail()}", pytrace=False)
            if not self.alive():
                pytest.fail(f"broker exited ({self.proc.returncode}) while waiting for "
                            f"/{pattern}/\n{self.log_tail()}", pytrace=False)
            time.sleep(0.05)

    def open_connections(self) -> int:
        """Connections the current run has logged as opened and not (yet) as closed."""
        text = self.log_text()
        run = text[text.rfind("=== e2e: start #"):]
        return run.count("connection opened") - run.count("connection closed")

    def wait_connections(self, n: int, timeout_s: float = 10.0) -> None:
        """Waits until exactly `n` connections are open by the log, e.g. so that the next
        `connection closed` line is known to be about the next connection a test closes."""
        deadline = time.monotonic() + timeout_s
        while self.open_connections() != n:
            if time.monotonic() > deadline:
                pytest.fail(f"log shows {self.open_connections()} open connections, expected "
                            f"{n}, after {timeout_s}s\n{self.log_tail()}", pytrace=False)
            time.sleep(0.05)

    def assert_healthy(self, since: int = 0, guest_panics_allowed: bool = False) -> None:
        """The process is running and its log (after `since`) shows no panic: none at all, or,
        with `guest_panics_allowed` (tests whose guests panic on purpose), none of the host."""
        assert self.alive(), f"broker exited with {self.proc.returncode}\n{self.log_tail()}"
        lines = self.log_since(since).splitlines()
        if guest_panics_allowed:
            at = [i for i, l in enumerate(lines) if HOST_PANIC_LINE.match(l)]
        else:
            at = [i for i, l in enumerate(lines) if PANIC_MARKER in l]
        # Each panic with the line after it (the panic message), the first three.
        panics = ["\n".join(lines[i:i + 2]) for i in at[:3]]
        assert not panics, f"broker log shows {len(at)} panics, the first: " + "\n".join(panics)

    def rss_kib(self) -> int:
        """Resident set size (VmRSS) of the broker process, in KiB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        assert m, "no VmRSS in /proc/PID/status"
        return int(m.group(1))


# -- pytest wiring -----------------------------------------------------------------------------


def pytest_configure(config):
    # 1,000+ sockets in one test (memory) and brokers that inherit this limit: raise the soft
    # limit on open files to the hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft == resource.RLIM_INFINITY or soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for broker in list(Broker.live):
            report.sections.append((f"broker log ({broker.root.name})", broker.log_tail()))


@pytest.fixture
def make_broker(tmp_path):
    """A factory: `make_broker(listeners=..., topics=..., plugins=..., groups=...)` starts a
    broker in a fresh directory; every broker it made is stopped at teardown."""
    made: list[Broker] = []

    def make(name: str = "broker", start: bool = True, **kwargs) -> Broker:
        b = Broker(tmp_path / f"{name}-{len(made)}", **kwargs)
        made.append(b)
        return b.start() if start else b

    yield make
    for b in made:
        b.teardown()


@pytest.fixture
def broker(make_broker) -> Broker:
    """A broker with one built-in Kafka listener and default settings."""
    return make_broker()


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory, request) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.replace("test_", ""))


def unique(name: str) -> str:
    """A topic name unique within the session (tests sharing a broker must not collide)."""
    return f"{name}-{time.monotonic_ns() % 10**10}"
