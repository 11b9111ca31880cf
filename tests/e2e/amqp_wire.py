"""AMQP 1.0 frames over a raw socket, for the tests that must send what no client library
will (test_amqp_bad_input.py) or see the broker's exact answer (SASL outcomes).

Performatives are encoded and decoded with proton's `Data` (the AMQP type system), the frame
layer by hand: 4-byte size, data offset, type, channel, then the body. Only what the tests
need is here: the SASL exchange, open, begin, attach, flow, transfer, and reading frames until
the broker closes the socket.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from proton import Array, Data, Described, Message, symbol, ubyte, uint, ulong, ushort

AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
SASL_HEADER = b"AMQP\x03\x01\x00\x00"

FRAME_AMQP = 0
FRAME_SASL = 1
# size (4), data offset in 4-byte words (1), type (1), channel (2).
FRAME_HEADER = struct.Struct(">IBBH")

# Performative descriptors (AMQP 1.0 part 2.7 and 5.3).
OPEN, BEGIN, ATTACH, FLOW, TRANSFER, DISPOSITION, DETACH, END, CLOSE = range(0x10, 0x19)
ERROR = 0x1D
SOURCE, TARGET = 0x28, 0x29
SASL_MECHANISMS, SASL_INIT, SASL_CHALLENGE, SASL_RESPONSE, SASL_OUTCOME = range(0x40, 0x45)
NAMES = {OPEN: "open", BEGIN: "begin", ATTACH: "attach", FLOW: "flow", TRANSFER: "transfer",
         DISPOSITION: "disposition", DETACH: "detach", END: "end", CLOSE: "close",
         SASL_MECHANISMS: "sasl-mechanisms", SASL_INIT: "sasl-init",
         SASL_CHALLENGE: "sasl-challenge", SASL_RESPONSE: "sasl-response",
         SASL_OUTCOME: "sasl-outcome"}

SASL_OK = 0
SASL_AUTH = 1

# Ours: big enough for any frame these tests provoke, announced so the broker never has to cut.
CLIENT_MAX_FRAME = 1 << 20
# A broker that neither answers nor closes within this is hanging: a finding, not a wait.
READ_S_MAX = 5.0


def encode(descriptor: int, fields: list) -> bytes:
    d = Data()
    d.put_object(Described(ulong(descriptor), fields))
    return d.encode()


def frame(descriptor: int, fields: list, *, channel: int = 0, kind: int = FRAME_AMQP,
          payload: bytes = b"") -> bytes:
    body = encode(descriptor, fields) + payload
    return FRAME_HEADER.pack(FRAME_HEADER.size + len(body), 2, kind, channel) + body


def source(address: str | None) -> Described:
    return Described(ulong(SOURCE), [address])


def target(address: str | None) -> Described:
    return Described(ulong(TARGET), [address])


@dataclass
class Frame:
    kind: int
    channel: int
    descriptor: int | None  # None for an empty frame (a heartbeat)
    fields: list
    payload: bytes

    @property
    def name(self) -> str:
        return NAMES.get(self.descriptor, f"0x{self.descriptor:x}" if self.descriptor else "empty")

    def field(self, i: int):
        """Field `i` of the performative; a trailing null the encoder left out reads as None."""
        return self.fields[i] if i < len(self.fields) else None

    def error_condition(self) -> str | None:
        """The error condition symbol of a close, end or detach (None when it carries none)."""
        at = {CLOSE: 0, END: 0, DETACH: 2}.get(self.descriptor)
        err = None if at is None else self.field(at)
        if err is None:
            return None
        assert isinstance(err, Described) and err.descriptor == ERROR, f"not an error: {err!r}"
        return str(err.value[0])

    def __repr__(self) -> str:
        return f"<{self.name} ch={self.channel} {self.fields!r}>"


class WireConnection:
    """One raw TCP connection to an AMQP listener, reading the broker's frames."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=READ_S_MAX)
        self.buf = b""
        self.eof = False
        self.received: list[Frame] = []  # every frame read, for failure messages
        self.broker_begin: Frame | None = None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "WireConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, n: int, deadline: float) -> bool:
        """Reads until `n` bytes are buffered; False at end of stream."""
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"broker sent nothing for {READ_S_MAX}s and kept the socket "
                                   f"open; frames so far: {self.received}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def read_header(self) -> bytes:
        """The broker's protocol header; shorter (b"" at worst) if it closed the socket."""
        self._fill(8, time.monotonic() + READ_S_MAX)
        header, self.buf = self.buf[:8], self.buf[8:]
        return header

    def read_frame(self, timeout_s: float = READ_S_MAX) -> Frame | None:
        """The next frame, or None when the broker closed the socket."""
        deadline = time.monotonic() + timeout_s
        if not self._fill(FRAME_HEADER.size, deadline):
            assert not self.buf, f"socket closed inside a frame header: {self.buf!r}"
            return None
        size, doff, kind, channel = FRAME_HEADER.unpack_from(self.buf)
        assert size >= 8 and doff >= 2, f"broker sent a malformed frame header {self.buf[:8]!r}"
        if not self._fill(size, deadline):
            raise AssertionError(f"socket closed inside a frame of {size} bytes")
        body, self.buf = self.buf[doff * 4:size], self.buf[size:]
        if not body:
            f = Frame(kind, channel, None, [], b"")
        else:
            d = Data()
            used = d.decode(body)
            d.rewind()
            d.next()
            perf = d.get_object()
            f = Frame(kind, channel, int(perf.descriptor), list(perf.value or []), body[used:])
        self.received.append(f)
        return f

    def expect(self, descriptor: int, timeout_s: float = READ_S_MAX) -> Frame:
        """Skips flows and heartbeats until a frame with `descriptor`."""
        while True:
            f = self.read_frame(timeout_s)
            assert f is not None, (f"socket closed while waiting for {NAMES[descriptor]}; "
                                   f"frames: {self.received}")
            if f.descriptor == descriptor:
                return f
            assert f.descriptor in (None, FLOW, DISPOSITION), (
                f"expected {NAMES[descriptor]}, got {f!r}")

    def frames_until_closed(self, timeout_s: float = READ_S_MAX) -> list[Frame]:
        """Every frame up to the broker closing the socket; fails if it neither closes nor
        answers within `timeout_s`."""
        out = []
        deadline = time.monotonic() + timeout_s
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                return out
            out.append(f)

    def until_ended(self, timeout_s: float = READ_S_MAX) -> Frame:
        """Reads up to the first detach, end or close (the frames that carry an error)."""
        while True:
            f = self.read_frame(timeout_s)
            assert f is not None, f"socket closed with no detach, end or close: {self.received}"
            if f.descriptor in (DETACH, END, CLOSE):
                return f

    # -- the opening steps a normal client takes ------------------------------------------------

    def sasl(self, mechanism: str = "ANONYMOUS", response: bytes | None = None) -> Frame:
        """SASL header, mechanisms, init; returns the broker's sasl-outcome frame."""
        self.send(SASL_HEADER)
        header = self.read_header()
        assert header == SASL_HEADER, f"broker answered the SASL header with {header!r}"
        mechs = self.read_frame()
        assert mechs is not None and mechs.descriptor == SASL_MECHANISMS, (
            f"expected sasl-mechanisms, got {mechs!r}")
        self.send(frame(SASL_INIT, [symbol(mechanism), response], kind=FRAME_SASL))
        outcome = self.read_frame()
        assert outcome is not None and outcome.descriptor == SASL_OUTCOME, (
            f"expected sasl-outcome, got {outcome!r}; frames: {self.received}")
        return outcome

    def offered_mechanisms(self) -> list[str]:
        """SASL header, then the mechanisms the broker offers (the exchange is left there)."""
        self.send(SASL_HEADER)
        assert self.read_header() == SASL_HEADER
        mechs = self.read_frame()
        assert mechs is not None and mechs.descriptor == SASL_MECHANISMS, repr(mechs)
        offered = mechs.field(0)
        if isinstance(offered, Array):
            offered = offered.elements
        elif not isinstance(offered, (list, tuple)):
            offered = [offered]  # a single symbol is a one-element "multiple"
        return [str(m) for m in offered]

    def amqp_header(self) -> None:
        self.send(AMQP_HEADER)
        header = self.read_header()
        assert header == AMQP_HEADER, f"broker answered the AMQP header with {header!r}"

    def open(self) -> Frame:
        """Sends open and returns the broker's open."""
        self.send(frame(OPEN, ["e2e-raw", "127.0.0.1", uint(CLIENT_MAX_FRAME), ushort(7)]))
        return self.expect(OPEN)

    def begin(self, channel: int = 0) -> Frame:
        self.send(frame(BEGIN, [None, uint(0), uint(1024), uint(1024)], channel=channel))
        self.broker_begin = self.expect(BEGIN)
        return self.broker_begin

    def flow(self, handle: int, delivery_count: int, credit: int) -> bytes:
        """A flow for link `handle` of the session (channel 0), before any transfer of ours
        (next-outgoing-id 0) and counting the broker's transfers from its begin."""
        return frame(FLOW, [self.broker_begin.field(1), uint(1024), uint(0), uint(1024),
                            uint(handle), uint(delivery_count), uint(credit)])

    def attach(self, name: str, handle: int, *, receiver: bool, address: str | None,
               channel: int = 0) -> None:
        """Sends an attach: `receiver` True for a link the broker sends on (source =
        `address`), False for one we send on (target = `address`)."""
        fields = [name, uint(handle), receiver, ubyte(0), ubyte(0),
                  source(address if receiver else None),
                  target(None if receiver else address)]
        if not receiver:
            fields += [None, None, uint(0)]  # unsettled, incomplete-unsettled, initial count
        self.send(frame(ATTACH, fields, channel=channel))

    def handshake(self) -> Frame:
        """SASL ANONYMOUS, AMQP header, open, begin: returns the broker's open."""
        outcome = self.sasl()
        assert outcome.field(0) == SASL_OK, f"ANONYMOUS refused: {outcome!r}"
        self.amqp_header()
        broker_open = self.open()
        self.begin()
        return broker_open


def transfer(handle: int, delivery_id: int, message: Message) -> bytes:
    return frame(TRANSFER, [uint(handle), uint(delivery_id), str(delivery_id).encode(),
                            uint(0), False], payload=message.encode())


def close_condition(frames: list[Frame]) -> str | None:
    """The error condition of the close among `frames` (None when there is no close or it
    carries no error)."""
    closes = [f for f in frames if f.descriptor == CLOSE]
    return closes[-1].error_condition() if closes else None
