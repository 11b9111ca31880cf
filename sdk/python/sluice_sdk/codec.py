"""For codecs (`wit/codec.wit`): building the `output` every call returns, refusing a
connection's input, and cutting a byte stream into lines.

Only the `codec` world has `wit_world.exports.protocol`: import this from codecs.
"""

from __future__ import annotations

from typing import Iterable, Optional

from componentize_py_types import Err
from wit_world.exports import protocol


def output(write: bytes = b"", waits: Iterable[protocol.Wait] = (),
           close: Optional[str] = None, pause_input: bool = False) -> protocol.Output:
    """One call's answer: bytes for the peer, waits to arm, and whether to close (after
    writing) or stop reading. Every field defaults to "nothing"."""
    return protocol.Output(write=bytes(write), waits=list(waits), close=close,
                           pause_input=pause_input)


def refuse(reason: str) -> Err:
    """The error that closes this connection only (the instance and its other connections
    carry on); `raise refuse("...")` from `on_data` or `on_wake`."""
    return Err(protocol.CodecError(reason=reason))


class LineBuffer:
    """Bytes in, complete lines out. The host hands `on_data` any cut of the stream, so a line
    may arrive in pieces and several may arrive at once; the unfinished tail is kept for the
    next call, up to `line_bytes_max` (pass `connection_info.frame_bytes_max`) so that a peer
    that never sends a newline cannot grow it without bound."""

    def __init__(self, line_bytes_max: int) -> None:
        self.line_bytes_max = line_bytes_max
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The lines `data` completes, without their `\\n` (nor a `\\r` before it). Raises
        `refuse(...)` when an unfinished line outgrows `line_bytes_max`."""
        self._pending += data
        *lines, rest = bytes(self._pending).split(b"\n")
        if any(len(line) > self.line_bytes_max for line in (*lines, rest)):
            raise refuse(f"a line longer than {self.line_bytes_max} bytes")
        self._pending = bytearray(rest)
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]
