"""AMQP 1.0 clients driven from the tests (python-qpid-proton's blocking API), the broker's
queue counters from its admin API, and the steps the AMQP test files share.

Credit: receivers made here default to credit 0, so that each `receive()` grants exactly one
credit and the broker never pushes a message the test did not ask for (a prefetched message is
"delivering" to that receiver and invisible to the others, which would change what a test
proves). Tests about flow (competing consumers) pass a credit window instead.

Proton writes frames only while its container runs: a settlement reaches the broker on the
connection's next wait. The settling helpers here `flush` their connection, and a test that
reads counters while connections stay open keeps them running (`wait_queue(pump_while=...)`).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.request
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import pytest
from proton import Data, Delivery, Described, Message, Timeout, ulong
from proton.reactor import LinkOption
from proton.utils import BlockingConnection, BlockingReceiver

import amqp_wire
from conftest import Broker, toml_value

AMQP_LISTENERS = {"kafka": {"codec": "builtin:codec-kafka"},
                  "amqp": {"codec": "builtin:codec-amqp"}}

# One blocking client step (connect, attach, a send's settlement, a receive that must succeed).
CLIENT_S_MAX = 15.0
# Counters on the admin API settle this fast once the clients' frames are written.
SETTLE_S_MAX = 10.0
# How long "nothing more arrives" is watched; redelivery here is immediate (no delay is
# configured), so a message that should not come would come well within this.
QUIET_S = 1.0
# A thread that runs clients must finish within this.
THREAD_S_MAX = 60.0

DEAD_LETTER_QUEUE = "DLQ"
EXPIRY_QUEUE = "ExpiryQueue"


# -- brokers ------------------------------------------------------------------------------------

def amqp_broker(make_broker, extra: str = "", **kwargs) -> Broker:
    """A broker with a Kafka and an AMQP listener (`extra`: addresses, settings, users)."""
    return make_broker(listeners=AMQP_LISTENERS, extra=extra, **kwargs)


def declared(address: str, routing: str, queues: list[dict] | None = None) -> str:
    """TOML declaring `address` with its queues: by default one queue of the same name,
    durable, shared, any number of consumers; each dict in `queues` overrides those."""
    defaults = {"name": address, "routing": routing, "durable": True, "exclusive": False,
                "max-consumers": -1, "purge-on-no-consumers": False}
    lines = ["", "[[addresses]]", f"name = {toml_value(address)}",
             f"routing = [{toml_value(routing)}]"]
    for q in queues or [{}]:
        lines += ["", "[[addresses.queues]]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in {**defaults, **q}.items()]
    return "\n".join(lines) + "\n"


def module_broker(root, extra: str = "") -> Iterator[Broker]:
    """For a module-scoped fixture: one broker shared by tests that use unique names."""
    b = Broker(root / "broker", listeners=AMQP_LISTENERS, extra=extra).start()
    yield b
    b.teardown()


def url(broker: Broker) -> str:
    return f"amqp://{broker.address('amqp')}"


# -- connections and links ----------------------------------------------------------------------

def connect(broker: Broker, **kwargs) -> BlockingConnection:
    """`kwargs` go to proton's Container.connect (user, password, allowed_mechs, ...)."""
    return BlockingConnection(url(broker), timeout=CLIENT_S_MAX, **kwargs)


def close_quietly(conn: BlockingConnection) -> None:
    """Closes `conn`; a broker that already dropped it is not this call's finding."""
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a dead connection
        pass


@contextmanager
def connection(broker: Broker, **kwargs) -> Iterator[BlockingConnection]:
    conn = connect(broker, **kwargs)
    try:
        yield conn
    finally:
        close_quietly(conn)


class Capability(LinkOption):
    """Puts a capability (`queue` or `topic`) on the link's terminus: the source of a
    receiver, the target of a sender."""

    def __init__(self, capability: str) -> None:
        self.capability = capability

    def apply(self, link) -> None:
        terminus = link.source if link.is_receiver else link.target
        terminus.capabilities.put_array(False, Data.SYMBOL)
        terminus.capabilities.enter()
        terminus.capabilities.put_symbol(self.capability)
        terminus.capabilities.exit()


_link_ids = itertools.count()


def link_name(address: str) -> str:
    """Proton names a link after its container and address; two links to one address on one
    connection would then share a name, which AMQP forbids."""
    return f"e2e-{next(_link_ids)}-{address}"


def receiver(conn: BlockingConnection, address: str, credit: int = 0,
             **kwargs) -> BlockingReceiver:
    return conn.create_receiver(address, credit=credit, name=link_name(address), **kwargs)


def send(conn: BlockingConnection, address: str, messages: Iterable[Message],
         **kwargs) -> None:
    """Sends each message unsettled and waits for its outcome, which must be accepted (for a
    durable message, accepted means stored)."""
    sender = conn.create_sender(address, name=link_name(address), **kwargs)
    for i, m in enumerate(messages):
        d = sender.send(m)
        assert d.remote_state == Delivery.ACCEPTED, (
            f"message {i} to {address}: outcome {d.remote_state}, not accepted")
    sender.close()


def send_to(broker: Broker, address: str, messages: Iterable[Message], **kwargs) -> None:
    """`send` on a connection of its own."""
    with connection(broker) as conn:
        send(conn, address, messages, **kwargs)


def take(r: BlockingReceiver, n: int, timeout_s: float = CLIENT_S_MAX) -> list[Message]:
    """Receives `n` messages and leaves them unsettled; the caller settles them in order."""
    return [r.receive(timeout=timeout_s) for _ in range(n)]


def take_accept(r: BlockingReceiver, n: int, timeout_s: float = CLIENT_S_MAX) -> list[Message]:
    out = []
    for _ in range(n):
        out.append(r.receive(timeout=timeout_s))
        r.accept()
    return out


def flush(conn: BlockingConnection) -> None:
    """Runs `conn`'s I/O until everything it has to say is written: a settlement made while
    the test then works on another connection would otherwise wait in proton's buffers."""
    transport = conn.conn.transport
    conn.wait(lambda: transport.pending() <= 0, timeout=CLIENT_S_MAX,
              msg="writing pending frames")


def fail_delivery(r: BlockingReceiver) -> None:
    """Settles the oldest unsettled message as `modified` with delivery-failed set: the
    outcome of a consumer that tried and failed. (Proton's `release(delivered=True)` sends
    `modified` with delivery-failed left false, which is not a failed attempt.)"""
    r.fetcher.unsettled[0].local.failed = True
    r.settle(Delivery.MODIFIED)
    flush(r.connection)


def release(r: BlockingReceiver) -> None:
    """Settles the oldest unsettled message as `released`: never processed."""
    r.release(delivered=False)
    flush(r.connection)


def reject(r: BlockingReceiver) -> None:
    """Settles the oldest unsettled message as `rejected`: it can never be processed."""
    r.reject()
    flush(r.connection)


def assert_nothing_arrives(r: BlockingReceiver, quiet_s: float = QUIET_S,
                           why: str = "") -> None:
    try:
        m = r.receive(timeout=quiet_s)
    except Timeout:
        return
    raise AssertionError(f"unexpected message {m.body!r} (delivery count {m.delivery_count})"
                         + (f": {why}" if why else ""))


def pump(conn: BlockingConnection, seconds: float) -> None:
    """Runs `conn`'s I/O for `seconds`, so settlements and flows made are written."""
    try:
        conn.wait(lambda: False, timeout=seconds)
    except Timeout:
        pass


def body(m: Message):
    """The message's body; a data section as bytes (proton hands out a memoryview)."""
    return bytes(m.body) if isinstance(m.body, memoryview) else m.body


def bodies(messages: Iterable[Message]) -> list:
    return [body(m) for m in messages]


def numbered(tag: str, n: int) -> list[Message]:
    """`n` messages with distinct string bodies `tag-0`, `tag-1`, ..."""
    return [Message(body=f"{tag}-{i}") for i in range(n)]


def seed_batches() -> list[list[bytes]]:
    """The seeds' scenario (the ActiveMQ Artemis tutorial): two producers' batches of ten
    distinct 10-byte bodies."""
    return [[f"p{p}-m{i:02d}".ljust(10, ".").encode() for i in range(10)] for p in range(2)]


# -- the admin API ------------------------------------------------------------------------------

def queues(broker: Broker) -> list[dict]:
    with urllib.request.urlopen(f"{broker.admin_url}/api/queues", timeout=5) as resp:
        assert resp.status == 200, f"GET /api/queues: {resp.status}"
        return json.load(resp)


def queue(broker: Broker, name: str) -> dict | None:
    found = [q for q in queues(broker) if q["name"] == name]
    assert len(found) <= 1, f"{len(found)} queues named {name}: {found}"
    return found[0] if found else None


def queues_of(broker: Broker, address: str) -> list[dict]:
    return [q for q in queues(broker) if q["address"] == address]


def wait_queue(broker: Broker, name: str, *, pump_while: Iterable[BlockingConnection] = (),
               timeout_s: float = SETTLE_S_MAX, **expected) -> dict:
    """Polls the admin API until queue `name` exists with every counter in `expected`; returns
    its entry. Runs the I/O of `pump_while` between polls (their settlements must reach the
    broker, and a receiver kept attached must keep answering)."""
    conns = list(pump_while)
    deadline = time.monotonic() + timeout_s
    while True:
        q = queue(broker, name)
        if q is not None and all(q.get(k) == v for k, v in expected.items()):
            return q
        if time.monotonic() > deadline:
            pytest.fail(f"queue {name} after {timeout_s}s: {q}; expected {expected}",
                        pytrace=False)
        for c in conns:
            pump(c, 0.05)
        if not conns:
            time.sleep(0.05)


# -- threads ------------------------------------------------------------------------------------

def run_in_threads(steps: list[Callable[[], None]], timeout_s: float = THREAD_S_MAX) -> None:
    """Runs each step in its own thread (each with its own connections: proton's are not
    shared between threads) and re-raises the first failure."""
    errors: list[BaseException] = []

    def guard(step):
        try:
            step()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=guard, args=(s,), daemon=True) for s in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    assert not any(t.is_alive() for t in threads), f"a client thread ran over {timeout_s}s"
    if errors:
        raise errors[0]


class ReceiverThread(threading.Thread):
    """A receiver on a connection and thread of its own that accepts every message, until
    `enough(self)` says it has all it needs. `attached` is set once its link is open, so a test
    sends only to receivers that are there."""

    def __init__(self, broker: Broker, address: str, credit: int,
                 enough: Callable[["ReceiverThread"], bool], options=None) -> None:
        super().__init__(daemon=True, name=f"receiver-{address}")
        self.broker, self.address, self.credit = broker, address, credit
        self.enough = enough
        self.options = options
        self.attached = threading.Event()
        self.got: list = []
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            with connection(self.broker) as conn:
                r = receiver(conn, self.address, self.credit, options=self.options)
                self.attached.set()
                deadline = time.monotonic() + THREAD_S_MAX
                while not self.enough(self):
                    assert time.monotonic() < deadline, (
                        f"{self.name} has {len(self.got)} messages after {THREAD_S_MAX}s")
                    try:
                        m = r.receive(timeout=0.2)
                    except Timeout:
                        continue
                    r.accept()
                    with self.lock:
                        self.got.append(body(m))
        except BaseException as e:  # noqa: BLE001 - reported by finish()
            self.error = e
            self.attached.set()

    def wait_attached(self) -> None:
        assert self.attached.wait(CLIENT_S_MAX), f"{self.name} not attached in {CLIENT_S_MAX}s"
        if self.error:
            raise self.error

    def finish(self) -> list:
        self.join(THREAD_S_MAX + CLIENT_S_MAX)
        assert not self.is_alive(), f"{self.name} still running"
        if self.error:
            raise self.error
        return self.got


# -- raw message bytes (the mapping tests: what no Message object expresses) ---------------------

class RawMessage:
    """A message already encoded (its sections' bytes), sent through proton's blocking sender
    as is: multiple data sections, amqp-sequence bodies and footers have no `Message` field."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def send(self, sender, tag=None) -> Delivery:
        # What proton's Message.send does, without encoding a Message.
        dlv = sender.delivery(tag or sender.delivery_tag())
        sender.stream(self.payload)
        sender.advance()
        return dlv


def section(code: int, value) -> bytes:
    """One message section: the descriptor `code` (0x70 header ... 0x78 footer) around `value`,
    encoded by proton's type system (bytes a binary, str a string, dict a map, list a list)."""
    d = Data()
    d.put_object(Described(ulong(code), value))
    return bytes(d.encode())


class RawSubscriber:
    """An AMQP receiver over a raw socket (amqp_wire), for the tests that compare the bytes of
    each message the broker sends: proton decodes one body section and drops footers."""

    def __init__(self, broker: Broker, address: str, credit: int) -> None:
        self.wire = amqp_wire.WireConnection(broker.ports["amqp"])
        self.wire.handshake()
        self.wire.attach(f"raw-{next(_link_ids)}", 0, receiver=True, address=address)
        self.wire.expect(amqp_wire.ATTACH)
        self.wire.send(self.wire.flow(0, 0, credit))

    def take(self, n: int) -> list[bytes]:
        """The payloads of the next `n` deliveries (each joined across its transfer frames)."""
        out: list[bytes] = []
        current = b""
        while len(out) < n:
            f = self.wire.expect(amqp_wire.TRANSFER, timeout_s=CLIENT_S_MAX)
            current += f.payload
            if not f.field(5):  # `more`: the delivery goes on in the next transfer
                out.append(current)
                current = b""
        return out

    def close(self) -> None:
        self.wire.close()
